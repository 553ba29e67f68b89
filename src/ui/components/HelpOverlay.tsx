import { Box, Text } from 'ink';
import React from 'react';
import { useTheme } from '../context';
import { LAYER, useKeys } from '../keys';
import type { KeyHint } from './Footer';
import { Line } from './Line';

export const GLOBAL_KEYS: readonly KeyHint[] = [
  ['?', 'this help (any key closes it)'],
  ['q', 'quit (asks first while a step runs)'],
  ['esc', 'back'],
  ['j/k ↑/↓', 'move'],
  ['enter', 'choose / confirm'],
  ['ctrl+c', 'cancel the running step (asks first); quit otherwise'],
];

/** `?`: every key of this screen, then the global ones. Any key closes it. */
export function HelpOverlay({ screen, keys, onClose }: { screen: string; keys: readonly KeyHint[]; onClose: () => void }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (key.ctrl && input === 'c') return false;
    onClose();
    return true;
  }, LAYER.dialog);
  const width = Math.max(...[...keys, ...GLOBAL_KEYS].map(([k]) => k.length)) + 2;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.accent} paddingX={1}>
      <Line bold>Keys — {screen}</Line>
      {keys.map(([k, label]) => (
        <Line key={`s-${k}`}>
          <Text bold>{k.padEnd(width)}</Text>
          {label}
        </Line>
      ))}
      <Line color={theme.muted}>everywhere</Line>
      {GLOBAL_KEYS.map(([k, label]) => (
        <Line key={`g-${k}`}>
          <Text bold>{k.padEnd(width)}</Text>
          {label}
        </Line>
      ))}
    </Box>
  );
}
