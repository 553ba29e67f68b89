import { MutxError } from '../errors';

export const DEFAULT_FILTER = 'error';

/**
 * A compiled line filter. `test` is the truth (one line, case-insensitive, like
 * `grep -i`); `scan` is a prefilter run over many lines at once to find the few lines
 * worth testing, which is what makes counting a big file fast.
 */
export interface LineMatcher {
  readonly source: string;
  /** Does this one line (no `\n`) match? */
  test(line: string): boolean;
  /**
   * Global+multiline version of the filter. Run over a block of whole lines it finds a
   * match starting in every line that `test` accepts (and maybe in others, which `test`
   * then rejects). Null when that does not hold (negative lookarounds can see across
   * a line end) — callers then test line by line.
   */
  readonly scan: RegExp | null;
  /**
   * `scan` may run on the block decoded as latin1 (one char per byte, much cheaper than
   * UTF-8 decoding) and still find every line that matches: the pattern only ever matches
   * ASCII characters, and multi-byte UTF-8 sequences contain no ASCII bytes.
   */
  readonly latin1: boolean;
  /** The pattern is a plain ASCII literal: a `scan` hit inside a line is a match, no need to `test`. */
  readonly literal: boolean;
}

/** Compiles a filter; throws a usage `MutxError` when it is not a valid regular expression. */
export function compileFilter(filter: string = DEFAULT_FILTER): LineMatcher {
  let lineRe: RegExp;
  try {
    lineRe = new RegExp(filter, 'i');
  } catch (error) {
    throw new MutxError('usage', `log filter "${filter}" is not a valid regular expression: ${(error as Error).message}`, {
      hint: 'the filter is a JavaScript regular expression, matched case-insensitively (e.g. error|fatal)',
    });
  }
  const negativeLookaround = /\(\?<?!/.test(filter);
  const scan = negativeLookaround ? null : new RegExp(filter, 'gim');
  return {
    source: filter,
    test: (line) => lineRe.test(line),
    scan,
    latin1: scan !== null && isLatin1Safe(filter),
    literal: scan !== null && /^[A-Za-z0-9 _\-:=,;'"!@#%&<>~`/]+$/.test(filter),
  };
}

/**
 * True when every character the pattern can match is ASCII: printable ASCII source, no
 * `.`, no negated class, no escapes that reach beyond ASCII (`\s \S \W \D \x \u \p`, octal),
 * no lookarounds. Conservative: anything unusual is "not safe" and decoded as UTF-8.
 */
export function isLatin1Safe(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const code = pattern.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return false;
      if (/[A-Za-z0-9]/.test(next) && !'dwbBtnrfv'.includes(next)) return false;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      if (pattern[i + 1] === '^') return false;
      inClass = true;
      continue;
    }
    if (c === '.') return false;
    if (c === '(' && pattern[i + 1] === '?') {
      const kind = pattern[i + 2];
      const namedGroup = kind === '<' && /[A-Za-z_$]/.test(pattern[i + 3] ?? '');
      if (kind !== ':' && !namedGroup) return false;
    }
  }
  return true;
}
