import { Text } from 'ink';
import React from 'react';
import { useTerminalSize, useTheme } from '../context';
import { truncate } from '../format';

export type KeyHint = readonly [key: string, label: string];

/** Ends every footer, never cut: the way to every other key, and the way out. */
const GLOBAL_TAIL: readonly KeyHint[] = [
  ['?', 'help'],
  ['q', 'quit'],
];

const hint = ([key, label]: KeyHint) => `${key} ${label}`;

/**
 * The footer's text for `columns`: the screen's keys, then `? help · q quit`. When they do not
 * all fit, the screen's keys are cut (with `…`; all of them are in `?`), never the tail.
 */
export function footerText(keys: readonly KeyHint[], columns: number): string {
  const width = Math.max(1, columns - 1);
  const own = keys
    .filter(([key]) => !GLOBAL_TAIL.some(([global]) => global === key))
    .map(hint)
    .join(' · ');
  const tail = GLOBAL_TAIL.map(hint).join(' · ');
  if (!own) return truncate(tail, width);
  const full = `${own} · ${tail}`;
  if (full.length <= width) return full;
  const room = width - tail.length - 3;
  if (room < 2) return truncate(tail, width);
  let cut = truncate(own, room);
  // A hint cut down to a stub ("l …") says nothing: end at the previous hint instead.
  const last = cut.lastIndexOf(' · ');
  if (last >= 0 && cut.length - last - 3 < 6) cut = `${cut.slice(0, last)} · …`;
  return `${cut} · ${tail}`;
}

/** The keys that work here, on one line that always ends with `? help · q quit`. */
export function Footer({ keys }: { keys: readonly KeyHint[] }) {
  const theme = useTheme();
  const { columns } = useTerminalSize();
  return (
    <Text color={theme.muted} wrap="truncate-end">
      {footerText(keys, columns)}
    </Text>
  );
}
