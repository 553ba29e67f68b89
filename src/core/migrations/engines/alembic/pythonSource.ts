/**
 * Just enough of Python's lexical structure to read an Alembic revision file without running it:
 * the module's logical lines (strings, brackets, comments and backslash continuations respected),
 * its docstring, and Python literals made of strings, None, tuples and lists. Anything else is
 * "not a literal": the caller then asks Alembic itself.
 */

export interface LogicalLine {
  /** 1-based line where it starts. */
  line: number;
  indent: number;
  /** The text, comments removed, line breaks kept. */
  text: string;
  /** The same with every string literal replaced by "", for looking at the code only. */
  code: string;
}

export interface ScanResult {
  lines: LogicalLine[];
  /** Code outside strings and comments, for searching identifiers such as autocommit_block. */
  code: string;
  /** Comments with their line numbers (e.g. `# mutx-ops: allow …`). */
  comments: { line: number; text: string }[];
  /** Set when the file cannot be Python: an unterminated string or unbalanced brackets. */
  syntaxError?: { line: number; message: string };
}

const OPEN = '([{';
/** Where plain code stops: strings (with their prefixes), comments, continuations, line ends, brackets. */
const SPECIAL = /['"#\\\n\r()[\]{}]|(?<!\w)[rRbBuUfF]{1,2}(?=['"])/g;
const CLOSE = ')]}';

export function scanPython(source: string): ScanResult {
  const lines: LogicalLine[] = [];
  const comments: ScanResult['comments'] = [];
  let code = '';
  let text = '';
  let lineCode = '';
  let startLine = 1;
  let indent = 0;
  let atLineStart = true;
  let lineNo = 1;
  const stack: { char: string; line: number }[] = [];
  let i = 0;
  const flush = () => {
    if (text.trim() !== '') lines.push({ line: startLine, indent, text: text.trimEnd(), code: lineCode.trimEnd() });
    text = '';
    lineCode = '';
    atLineStart = true;
  };
  while (i < source.length) {
    const ch = source[i]!;
    if (atLineStart) {
      // Indentation of a new logical line; blank and comment-only lines do not start one.
      let j = i;
      let width = 0;
      while (j < source.length && (source[j] === ' ' || source[j] === '\t')) {
        width += source[j] === '\t' ? 8 - (width % 8) : 1;
        j++;
      }
      if (source[j] === '\n' || source[j] === '\r' || source[j] === '#' || j >= source.length) {
        if (source[j] === '#') {
          const end = source.indexOf('\n', j);
          comments.push({ line: lineNo, text: source.slice(j, end === -1 ? undefined : end).replace(/\r$/, '') });
          i = end === -1 ? source.length : end;
        } else {
          i = j;
        }
        if (source[i] === '\r') i++;
        if (source[i] === '\n') {
          i++;
          lineNo++;
        }
        continue;
      }
      indent = width;
      startLine = lineNo;
      atLineStart = false;
      i = j;
      continue;
    }
    if (ch === '#') {
      const end = source.indexOf('\n', i);
      comments.push({ line: lineNo, text: source.slice(i, end === -1 ? undefined : end).replace(/\r$/, '') });
      i = end === -1 ? source.length : end;
      continue;
    }
    if (ch === '\\' && (source[i + 1] === '\n' || (source[i + 1] === '\r' && source[i + 2] === '\n'))) {
      i += source[i + 1] === '\n' ? 2 : 3;
      lineNo++;
      text += ' ';
      lineCode += ' ';
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i++;
      i++;
      lineNo++;
      if (stack.length > 0) {
        text += '\n';
        lineCode += '\n';
        continue;
      }
      flush();
      continue;
    }
    // Plain code up to the next character that matters, in one slice (not one character at a time).
    SPECIAL.lastIndex = i;
    const special = SPECIAL.exec(source);
    const next = special ? special.index : source.length;
    if (next > i) {
      const chunk = source.slice(i, next);
      text += chunk;
      code += chunk;
      lineCode += chunk;
      i = next;
      continue;
    }
    const prefix = /^[rRbBuUfF]{0,2}/.exec(source.slice(i, i + 2))!;
    if (source[i + prefix[0].length] === '"' || source[i + prefix[0].length] === "'") {
      const start = i;
      const startAt = lineNo;
      i += prefix[0].length;
      const quote = source[i]!;
      const triple = source.slice(i, i + 3) === quote.repeat(3);
      const raw = /[rR]/.test(prefix[0]);
      i += triple ? 3 : 1;
      let closed = false;
      while (i < source.length) {
        const c = source[i]!;
        if (c === '\\' && !raw) {
          if (source[i + 1] === '\n') lineNo++;
          i += 2;
          continue;
        }
        if (c === '\\' && raw) {
          if (source[i + 1] === '\n') lineNo++;
          i += 2;
          continue;
        }
        if (c === '\n') {
          if (!triple) break;
          lineNo++;
        }
        if (triple ? source.slice(i, i + 3) === quote.repeat(3) : c === quote) {
          i += triple ? 3 : 1;
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) return { lines, code, comments, syntaxError: { line: startAt, message: triple ? 'unterminated triple-quoted string' : 'unterminated string literal' } };
      text += source.slice(start, i);
      code += ' "" ';
      lineCode += '""';
      continue;
    }
    if (OPEN.includes(ch)) stack.push({ char: ch, line: lineNo });
    if (CLOSE.includes(ch)) {
      const open = stack.pop();
      if (!open || OPEN.indexOf(open.char) !== CLOSE.indexOf(ch)) return { lines, code, comments, syntaxError: { line: lineNo, message: `unmatched '${ch}'` } };
    }
    text += ch;
    code += ch;
    lineCode += ch;
    i++;
  }
  if (stack.length > 0) return { lines, code, comments, syntaxError: { line: stack[stack.length - 1]!.line, message: `'${stack[stack.length - 1]!.char}' was never closed` } };
  flush();
  return { lines, code, comments };
}

/** A literal value: a string, None, or a sequence of strings. undefined: not a literal. */
export type PyLiteral = { kind: 'none' } | { kind: 'str'; value: string } | { kind: 'seq'; values: string[] };

export function parseLiteral(expression: string): PyLiteral | undefined {
  const tokens = tokenize(expression);
  if (!tokens) return undefined;
  let pos = 0;
  const peek = () => tokens[pos];
  const strings = (): string | undefined => {
    // Implicit concatenation: 'a' 'b' is 'ab'.
    let value: string | undefined;
    while (peek()?.kind === 'str') value = (value ?? '') + (tokens[pos++] as { value: string }).value;
    return value;
  };
  const items = (close: string): string[] | 'paren-string' | undefined => {
    const values: string[] = [];
    let sawComma = false;
    while (peek() && !(peek()!.kind === 'op' && (peek() as { value: string }).value === close)) {
      const value = strings();
      if (value === undefined) return undefined;
      values.push(value);
      const next = peek();
      if (next?.kind === 'op' && next.value === ',') {
        sawComma = true;
        pos++;
        continue;
      }
      if (!(next?.kind === 'op' && next.value === close)) return undefined;
    }
    if (!peek()) return undefined;
    pos++;
    // ("a") is the string a, not a tuple.
    if (close === ')' && values.length === 1 && !sawComma) return 'paren-string';
    return values;
  };
  let result: PyLiteral | undefined;
  const first = peek();
  if (!first) return undefined;
  if (first.kind === 'name' && first.value === 'None') {
    pos++;
    result = { kind: 'none' };
  } else if (first.kind === 'op' && (first.value === '(' || first.value === '[' || first.value === '{')) {
    pos++;
    const close = first.value === '(' ? ')' : first.value === '[' ? ']' : '}';
    const start = pos;
    const list = items(close);
    if (list === undefined) return undefined;
    if (list === 'paren-string') {
      pos = start;
      result = { kind: 'str', value: strings()! };
      pos++;
    } else {
      result = { kind: 'seq', values: list };
    }
  } else if (first.kind === 'str') {
    const value = strings()!;
    if (peek()?.kind === 'op' && (peek() as { value: string }).value === ',') {
      // A bare tuple: 'a', 'b'
      const values = [value];
      while (peek()?.kind === 'op' && (peek() as { value: string }).value === ',') {
        pos++;
        if (!peek()) break;
        const next = strings();
        if (next === undefined) return undefined;
        values.push(next);
      }
      result = { kind: 'seq', values };
    } else {
      result = { kind: 'str', value };
    }
  } else {
    return undefined;
  }
  return pos === tokens.length ? result : undefined;
}

type Token = { kind: 'str'; value: string } | { kind: 'name'; value: string } | { kind: 'op'; value: string };

function tokenize(expression: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const ch = expression[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < expression.length && expression[i] !== '\n') i++;
      continue;
    }
    const prefix = /^([rRuU]?)(['"])/.exec(expression.slice(i, i + 2));
    if (prefix) {
      const raw = /[rR]/.test(prefix[1]!);
      i += prefix[1]!.length;
      const quote = expression[i]!;
      const triple = expression.slice(i, i + 3) === quote.repeat(3);
      i += triple ? 3 : 1;
      let value = '';
      for (;;) {
        if (i >= expression.length) return undefined;
        if (triple ? expression.slice(i, i + 3) === quote.repeat(3) : expression[i] === quote) {
          i += triple ? 3 : 1;
          break;
        }
        const c = expression[i]!;
        if (c === '\\' && !raw) {
          const next = expression[i + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '\n': '' };
          if (next === undefined || !(next in escapes)) return undefined;
          value += escapes[next];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      tokens.push({ kind: 'str', value });
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_]\w*/.exec(expression.slice(i))!;
      // b'…', f'…' and names other than None are not literals we read.
      if (/['"]/.test(expression[i + match[0].length] ?? '')) return undefined;
      tokens.push({ kind: 'name', value: match[0] });
      i += match[0].length;
      continue;
    }
    if ('()[]{},'.includes(ch)) {
      tokens.push({ kind: 'op', value: ch });
      i++;
      continue;
    }
    return undefined;
  }
  return tokens;
}

/** The module docstring: the first logical line, when it is a lone string literal. */
export function moduleDocstring(lines: LogicalLine[]): string | undefined {
  const first = lines[0];
  if (!first || first.indent !== 0) return undefined;
  const literal = parseLiteral(first.text);
  return literal?.kind === 'str' ? literal.value : undefined;
}
