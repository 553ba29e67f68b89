import v8 from 'node:v8';
import type { Node, ParseResult } from 'libpg-query';

/**
 * The real PostgreSQL parser (libpg_query compiled to WebAssembly). Loaded on first use only: the
 * module compiles its WebAssembly when imported (~40 ms), a cost no other command should pay.
 */
type LibPgQuery = typeof import('libpg-query');

let loading: Promise<LibPgQuery> | undefined;
let loaded: LibPgQuery | undefined;
let loadMs = 0;

export async function loadParser(): Promise<Parser> {
  if (!loaded) {
    const started = performance.now();
    // Tiering the parser's 1.7 MB of WebAssembly up to TurboFan runs in the background and holds
    // the process ~0.5 s after its work is done; the baseline compiler alone parses fast enough.
    v8.setFlagsFromString('--liftoff-only');
    loading ??= import('libpg-query').then(async (mod) => {
      await mod.loadModule();
      return mod;
    });
    loaded = await loading;
    loadMs = performance.now() - started;
  }
  return new Parser(loaded);
}

/** How long loading the parser took in this process (0 before the first load). */
export function parserLoadMs(): number {
  return loadMs;
}

export type ParsedStatement = { ok: true; stmt: Node } | { ok: false; message: string; /** 0-based character offset of the error. */ position?: number };

export interface ParsedComment {
  text: string;
  /** 0-based character offsets. */
  start: number;
  end: number;
}

export class Parser {
  constructor(private readonly lib: LibPgQuery) {}

  /**
   * Several statements in one call (one crossing into WebAssembly, one JSON document): undefined
   * when any of them fails or the parser cuts them differently — then parse them one by one.
   */
  parseMany(statements: string[]): Node[][] | undefined {
    if (statements.length < 2) return undefined;
    let result: ParseResult;
    try {
      result = this.lib.parseSync(statements.map((sql) => (/;\s*$/.test(sql) ? sql : `${sql};`)).join('\n'));
    } catch {
      return undefined;
    }
    const stmts = result.stmts ?? [];
    if (stmts.length !== statements.length || stmts.some((raw) => !raw.stmt)) return undefined;
    return stmts.map((raw) => [raw.stmt!]);
  }

  /** One statement (as the SQL splitter cut it); a statement the server would reject is an error result. */
  parseOne(sql: string): ParsedStatement[] {
    let result: ParseResult;
    try {
      result = this.lib.parseSync(sql);
    } catch (error) {
      const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
      const message = details?.message ?? (error instanceof Error ? error.message : String(error));
      return [{ ok: false, message, position: details?.cursorPosition === undefined ? undefined : charOffset(sql, details.cursorPosition) }];
    }
    return (result.stmts ?? []).flatMap((raw) => (raw.stmt ? [{ ok: true as const, stmt: raw.stmt }] : []));
  }

  /** The SQL statements inside a DO block's PL/pgSQL body (static ones, and EXECUTE of a constant string). */
  plpgsqlStatements(doStatement: string): { sql: string; lineno: number }[] {
    let parsed: unknown;
    try {
      parsed = this.lib.parsePlPgSQLSync(doStatement);
    } catch {
      return [];
    }
    const found: { sql: string; lineno: number }[] = [];
    const visit = (node: unknown, lineno: number) => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item, lineno);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      const here = typeof record.lineno === 'number' ? record.lineno : lineno;
      const exec = record.PLpgSQL_stmt_execsql as { lineno?: number; sqlstmt?: { PLpgSQL_expr?: { query?: string } } } | undefined;
      if (exec?.sqlstmt?.PLpgSQL_expr?.query) found.push({ sql: exec.sqlstmt.PLpgSQL_expr.query, lineno: exec.lineno ?? here });
      const dyn = record.PLpgSQL_stmt_dynexecute as { lineno?: number; query?: { PLpgSQL_expr?: { query?: string } } } | undefined;
      const literal = dyn?.query?.PLpgSQL_expr?.query?.trim();
      if (literal && /^'(?:[^']|'')*'$/.test(literal)) found.push({ sql: literal.slice(1, -1).replace(/''/g, "'"), lineno: dyn?.lineno ?? here });
      for (const value of Object.values(record)) visit(value, here);
    };
    visit(parsed, 1);
    return found;
  }

  /** Comments of a text, found by PostgreSQL's own scanner (so `--` inside a string is not one). */
  comments(text: string): ParsedComment[] | undefined {
    try {
      const { tokens } = this.lib.scanSync(text);
      const ascii = isAscii(text);
      const map = ascii ? undefined : byteToChar(text);
      return tokens
        .filter((token) => token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT')
        .map((token) => ({ text: token.text, start: map ? map(token.start) : token.start, end: map ? map(token.end) : token.end }));
    } catch {
      return undefined;
    }
  }
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text);
}

/** libpg_query reports byte offsets into the UTF-8 text; JavaScript strings count UTF-16 units. */
function byteToChar(text: string): (byte: number) => number {
  const offsets: number[] = [];
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) offsets[bytes + k] = i;
    bytes += width;
    if (code >= 0x10000) i++;
  }
  return (byte) => (byte >= bytes ? text.length : (offsets[byte] ?? text.length));
}

/** PostgreSQL's error cursor counts characters (the scanner's tokens count bytes); 0-based here. */
function charOffset(sql: string, cursorPosition: number): number {
  return Math.max(0, Math.min(sql.length, cursorPosition));
}
