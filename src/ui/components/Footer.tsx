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
 * all fit, the screen's last keys give way to `…` (all of them are in `?`), never the tail.
 */
export function footerText(keys: readonly KeyHint[], columns: number): string {
  const width = Math.max(1, columns - 1);
  const own = keys.filter(([key]) => !GLOBAL_TAIL.some(([global]) => global === key));
  const tail = GLOBAL_TAIL.map(hint).join(' · ');
  const full = [...own.map(hint), tail].join(' · ');
  if (full.length <= width) return full;
  for (let kept = own.length - 1; kept >= 0; kept--) {
    const text = [...own.slice(0, kept).map(hint), '…', tail].join(' · ');
    if (text.length <= width) return text;
  }
  return truncate(tail, width);
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
