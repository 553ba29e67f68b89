/**
 * Colours and symbols. NO_COLOR (no-color.org: set and not empty) turns every colour off; the
 * screens never rely on colour alone — each state also has a symbol and a word.
 */
export interface Theme {
  color: boolean;
  /** Colour names for ink's <Text color>; undefined under NO_COLOR. */
  danger?: string;
  ok?: string;
  warn?: string;
  accent?: string;
  muted?: string;
  /** Banner background for a protected environment. */
  dangerBg?: string;
}

export function makeTheme(env: NodeJS.ProcessEnv = process.env): Theme {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  if (noColor) return { color: false };
  return { color: true, danger: 'red', ok: 'green', warn: 'yellow', accent: 'cyan', muted: 'gray', dangerBg: 'red' };
}

export const SYMBOL = {
  done: '✔',
  failed: '✖',
  skipped: '⏭',
  running: '●',
  waiting: '?',
  pending: '·',
  pointer: '›',
  warning: '⚠',
  applied: '●',
  notApplied: '○',
} as const;

export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
