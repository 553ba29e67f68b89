import { Text } from 'ink';
import React from 'react';
import { useTerminalSize, useTheme } from '../context';
import { truncate } from '../format';

export type KeyHint = readonly [key: string, label: string];

/** The keys that work here, on one line. */
export function Footer({ keys }: { keys: readonly KeyHint[] }) {
  const theme = useTheme();
  const { columns } = useTerminalSize();
  const text = keys.map(([key, label]) => `${key} ${label}`).join(' · ');
  return (
    <Text color={theme.muted} wrap="truncate-end">
      {truncate(text, columns - 1)}
    </Text>
  );
}
