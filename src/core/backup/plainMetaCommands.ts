import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * A plain SQL dump is fed to psql, and psql runs its backslash commands: `\! sh`, `\o |prog`,
 * `\copy … program`, `\set`, `\i other.sql`. A file mutx-ops did not catalogue (so no checksum
 * vouches for it) must hold only what pg_dump writes: SQL, COPY data, `\connect`, and the
 * `\restrict` / `\unrestrict` guards of newer pg_dump versions. This scanner follows psql's lexer
 * closely enough to tell a backslash command from a backslash inside a string, identifier,
 * dollar-quoted body, comment or COPY data, and returns the first other command with its line.
 */
export const PG_DUMP_META_COMMANDS = new Set(['connect', 'restrict', 'unrestrict']);

export interface ForeignMetaCommand {
  line: number;
  command: string;
}

type State = 'sql' | 'squote' | 'equote' | 'dquote' | 'dollar' | 'line-comment' | 'block-comment' | 'meta' | 'meta-args' | 'copy-pending' | 'copy';

const identChar = (c: string) => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
const COPY_FROM_STDIN = /^\s*COPY\b[\s\S]*\bFROM\s+stdin\b/i;

export class MetaCommandScanner {
  private state: State = 'sql';
  private line = 1;
  private depth = 0;
  private tag = '';
  private statement = '';
  private metaName = '';
  private copyLine = '';
  private prev = '';
  found?: ForeignMetaCommand;

  /** Feeds the next piece of the file; returns the first foreign command once seen. */
  push(text: string): ForeignMetaCommand | undefined {
    for (let i = 0; i < text.length && !this.found; i++) {
      const c = text[i]!;
      const next = text[i + 1] ?? '';
      switch (this.state) {
        case 'sql':
          if (c === '\\') {
            this.state = 'meta';
            this.metaName = '';
          } else if (c === "'") {
            this.state = /[Ee]/.test(this.prev) && !identChar(this.statement.at(-2) ?? '') ? 'equote' : 'squote';
          } else if (c === '"') this.state = 'dquote';
          else if (c === '-' && next === '-') {
            this.state = 'line-comment';
            i++;
          } else if (c === '/' && next === '*') {
            this.state = 'block-comment';
            this.depth = 1;
            i++;
          } else if (c === '$' && !identChar(this.prev)) {
            const match = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 80));
            if (match) {
              this.state = 'dollar';
              this.tag = match[0];
              i += match[0].length - 1;
            }
          } else if (c === ';') {
            if (COPY_FROM_STDIN.test(this.statement)) this.state = 'copy-pending';
            this.statement = '';
          }
          if (this.state === 'sql' && c !== ';' && this.statement.length < 65_536) this.statement += c;
          break;
        case 'squote':
          if (c === "'") this.state = 'sql';
          break;
        case 'equote':
          if (c === '\\') {
            if (next === '\n') this.line++;
            i++;
          } else if (c === "'") this.state = 'sql';
          break;
        case 'dquote':
          if (c === '"') this.state = 'sql';
          break;
        case 'dollar':
          if (c === '$' && text.startsWith(this.tag, i)) {
            i += this.tag.length - 1;
            this.state = 'sql';
          }
          break;
        case 'line-comment':
          if (c === '\n') this.state = 'sql';
          break;
        case 'block-comment':
          if (c === '/' && next === '*') {
            this.depth++;
            i++;
          } else if (c === '*' && next === '/') {
            this.depth--;
            i++;
            if (this.depth === 0) this.state = 'sql';
          }
          break;
        case 'meta':
          if (/[A-Za-z]/.test(c) && this.metaName.length < 40) this.metaName += c;
          else {
            const name = this.metaName || c;
            if (!PG_DUMP_META_COMMANDS.has(this.metaName)) this.found = { line: this.line, command: `\\${name}` };
            // Its arguments run to the end of the line, or to the next backslash command.
            this.state = c === '\n' ? 'sql' : c === '\\' ? 'meta' : 'meta-args';
            this.metaName = '';
          }
          break;
        case 'meta-args':
          if (c === '\n') this.state = 'sql';
          else if (c === '\\') {
            this.state = 'meta';
            this.metaName = '';
          }
          break;
        case 'copy-pending':
          if (c === '\n') {
            this.state = 'copy';
            this.copyLine = '';
          }
          break;
        case 'copy':
          if (c === '\n') {
            if (this.copyLine === '\\.') this.state = 'sql';
            this.copyLine = '';
          } else if (this.copyLine.length < 3) this.copyLine += c;
          else this.copyLine = 'xxxx';
          break;
      }
      if (c === '\n') this.line++;
      this.prev = c;
    }
    return this.found;
  }
}

/** The first psql command in `file` that pg_dump does not write, or undefined. Streams the file. */
export async function findForeignMetaCommand(file: string): Promise<ForeignMetaCommand | undefined> {
  const scanner = new MetaCommandScanner();
  const decoder = new StringDecoder('utf8');
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    // Whole lines only: every look-ahead of the scanner stays within one line.
    let carry = '';
    for await (const chunk of stream) {
      const text = carry + decoder.write(chunk as Buffer);
      const cut = text.lastIndexOf('\n') + 1;
      carry = text.slice(cut);
      if (cut > 0 && scanner.push(text.slice(0, cut))) return scanner.found;
    }
    scanner.push(carry + decoder.end());
    // A last line without its newline still ends a meta command.
    scanner.push('\n');
    return scanner.found;
  } finally {
    stream.destroy();
  }
}

export function foreignMetaMessage(file: string, found: ForeignMetaCommand): string {
  return `${file}:${found.line}: psql command ${found.command.slice(0, 20)} is not one pg_dump writes: refusing to feed this uncatalogued file to psql`;
}
