/**
 * Splits a migration section into statements the way psql does: on semicolons outside of
 * quotes, dollar-quoted bodies and comments. Each statement keeps the line it starts on, so
 * a failure can be reported as file:line.
 */
export interface SqlStatement {
  sql: string;
  /** 0-based offset of the statement's first character in the input. */
  offset: number;
  /** 1-based line of the statement's first non-blank character, relative to the input. */
  line: number;
}

export function splitSqlStatements(input: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const n = input.length;
  let parenDepth = 0;
  // BEGIN ... END blocks of SQL-standard function bodies (BEGIN ATOMIC) contain semicolons.
  let atomicDepth = 0;

  // Lines are counted incrementally (offsets only grow), so splitting stays linear.
  const lines = { offset: 0, line: 1 };
  const lineAt = (offset: number): number => {
    for (let k = lines.offset; k < offset; k++) if (input.charCodeAt(k) === 10) lines.line++;
    lines.offset = Math.max(lines.offset, offset);
    return lines.line;
  };

  const push = (end: number) => {
    const raw = input.slice(start, end);
    if (hasCode(raw)) {
      const lead = raw.length - raw.trimStart().length;
      const offset = start + lead;
      statements.push({ sql: raw.trim(), offset, line: lineAt(offset) });
    }
  };

  while (i < n) {
    const ch = input[i]!;
    const next = input[i + 1];
    if (ch === '-' && next === '-') {
      const eol = input.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (input[i] === '/' && input[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (input[i] === '*' && input[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (ch === "'" || ch === '"') {
      const backslashEscapes = ch === "'" && (input[i - 1] === 'E' || input[i - 1] === 'e') && !isIdentChar(input[i - 2]);
      i++;
      while (i < n) {
        if (backslashEscapes && input[i] === '\\') {
          i += 2;
          continue;
        }
        if (input[i] === ch) {
          if (input[i + 1] === ch) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (ch === '$' && !isIdentChar(input[i - 1])) {
      const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(input.slice(i, i + 70));
      if (match) {
        const tag = match[0];
        const close = input.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
        continue;
      }
    }
    if (ch === '(') parenDepth++;
    else if (ch === ')') parenDepth = Math.max(0, parenDepth - 1);
    else if ((ch === 'B' || ch === 'b') && !isIdentChar(input[i - 1]) && /^begin\s+atomic\b/i.test(input.slice(i, i + 20))) {
      atomicDepth++;
    } else if ((ch === 'E' || ch === 'e') && atomicDepth > 0 && !isIdentChar(input[i - 1]) && /^end\b/i.test(input.slice(i, i + 4))) {
      atomicDepth--;
    } else if (ch === ';' && parenDepth === 0 && atomicDepth === 0) {
      push(i + 1);
      start = i + 1;
    }
    i++;
  }
  push(n);
  return statements;
}

/** True when the text holds something other than whitespace and comments. */
export function hasCode(text: string): boolean {
  return stripComments(text).trim().replace(/;/g, '').trim().length > 0;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
}

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
}
