import type { Key } from 'ink';
import type { KeyHint } from './components/Footer';

/**
 * The app's one key map. Every key the screens and the run view handle is an action here, and
 * a screen both dispatches its keys and lists them in `?` help from the same bindings
 * (useScreenKeys), so help cannot leave out a key a screen handles.
 *
 * A letter means one thing everywhere. The only keys whose meaning depends on what is open
 * are the answers to an open question (`y`/`n`, `1`–`9`), and the question line spells
 * those out. README's "Keys" table is this table.
 */
export interface KeyAction {
  /** What help and footers show for the key. */
  hint: string;
  /** The meaning, the same on every screen that uses it. */
  label: string;
  /** Where it works (README and the test's documentation). */
  where: string;
  match: (input: string, key: Key) => boolean;
}

const plain = (key: Key) => !key.ctrl && !key.meta;
const char = (c: string) => (input: string, key: Key) => input === c && plain(key);

export const KEYMAP = {
  help: { hint: '?', label: 'this help (any key closes it)', where: 'everywhere', match: char('?') },
  quit: { hint: 'q', label: 'quit (a run waiting for you stays paused; a running step: asks first)', where: 'everywhere', match: char('q') },
  back: { hint: 'esc', label: 'back / close / cancel the text field', where: 'everywhere', match: (_i, key) => key.escape },
  choose: { hint: 'enter', label: 'choose / confirm', where: 'lists, questions', match: (_i, key) => key.return },
  cancel: { hint: 'ctrl+c', label: 'cancel the running step (asks first); quit otherwise', where: 'everywhere', match: (input, key) => key.ctrl && input === 'c' },
  move: { hint: 'j/k', label: 'move / scroll a line (↑/↓ too)', where: 'lists, run view, review', match: (input, key) => key.upArrow || key.downArrow || ((input === 'j' || input === 'k') && plain(key)) },
  page: { hint: 'pgup/pgdn', label: 'scroll a page', where: 'run view, review, audit, new revision', match: (_i, key) => key.pageUp || key.pageDown },
  ends: { hint: 'g/G', label: 'top / bottom (back to the live end)', where: 'run view, review', match: (input, key) => (input === 'g' || input === 'G') && plain(key) },
  filter: { hint: '/', label: 'filter', where: 'home, logs, audit', match: char('/') },
  history: { hint: 'h', label: 'History (revisions, roll back to one)', where: 'home', match: char('h') },
  backups: { hint: 'b', label: 'Backups (verify, restore)', where: 'home', match: char('b') },
  logs: { hint: 'l', label: 'Logs', where: 'home, run view', match: char('l') },
  audit: { hint: 'a', label: 'Audit trail', where: 'home', match: char('a') },
  reload: { hint: 'r', label: 'reload (read again)', where: 'home, history, backups, audit', match: char('r') },
  rollback: { hint: 'd', label: 'roll back (downgrade) to this revision: shows its downgrade SQL first', where: 'history', match: char('d') },
  create: { hint: 'c', label: 'create a new revision', where: 'history', match: char('c') },
  restore: { hint: 'o', label: 'restore this backup (restore runbook)', where: 'backups', match: char('o') },
  verify: { hint: 'v', label: 'verify this backup', where: 'backups', match: char('v') },
  stop: { hint: 'x', label: 'stop a run for good (aborted; asks first) / discard a stale run', where: 'run view, failure menu, home', match: char('x') },
  retry: { hint: 't', label: 'try the failed step again', where: 'failure menu', match: char('t') },
  skip: { hint: 's', label: 'skip the failed step (with a reason)', where: 'failure menu', match: char('s') },
  full: { hint: 'f', label: 'full error / all of the run’s output (toggle)', where: 'run view', match: char('f') },
  matching: { hint: 'm', label: 'matching / all lines', where: 'logs', match: char('m') },
  space: { hint: 'space', label: 'pause/resume (logs) · tick (checklist) · next page (review)', where: 'logs, checklist, review', match: (input) => input === ' ' },
  yes: { hint: 'y', label: 'yes (answers the open question)', where: 'questions, dialogs', match: (input) => input === 'y' || input === 'Y' },
  no: { hint: 'n', label: 'no (answers the open question)', where: 'questions, dialogs', match: (input) => input === 'n' || input === 'N' },
  choice: { hint: '1–9', label: 'the numbered choice (wait for a blocker, switch to runbook N, kind of revision)', where: 'failure menu, new revision', match: (input, key) => /^[1-9]$/.test(input) && plain(key) },
} as const satisfies Record<string, KeyAction>;

export type ActionId = keyof typeof KEYMAP;

/** The keys every screen has (App's global keys): listed under "everywhere" in help. */
export const GLOBAL_ACTIONS: readonly ActionId[] = ['help', 'quit', 'back', 'move', 'choose', 'cancel'];

export function isKey(id: ActionId, input: string, key: Key): boolean {
  return KEYMAP[id].match(input, key);
}

/** The footer/help hint of an action, with this screen's wording of it when given. */
export function hint(id: ActionId, label?: string): KeyHint {
  return [KEYMAP[id].hint, label ?? KEYMAP[id].label] as const;
}
