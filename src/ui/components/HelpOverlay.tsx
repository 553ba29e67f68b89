import { Box, Text } from 'ink';
import React from 'react';
import { useTheme } from '../context';
import { GLOBAL_ACTIONS, hint } from '../keymap';
import { LAYER, useKeys } from '../keys';
import type { KeyHint } from './Footer';
import { Line } from './Line';

export const GLOBAL_KEYS: readonly KeyHint[] = GLOBAL_ACTIONS.map((id) => hint(id));

/** `?`: every key of this screen, then the global ones. Any key closes it. */
export function HelpOverlay({ screen, keys, onClose }: { screen: string; keys: readonly KeyHint[]; onClose: () => void }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (key.ctrl && input === 'c') return false;
    onClose();
    return true;
  }, LAYER.dialog);
  // A screen's own wording of a global key (esc: "home, the run continues") stays in its list.
  const own = keys.filter(([k, l]) => !GLOBAL_KEYS.some(([gk, gl]) => gk === k && gl === l));
  const width = Math.max(...[...own, ...GLOBAL_KEYS].map(([k]) => k.length)) + 2;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.accent} paddingX={1}>
      <Line bold>Keys — {screen}</Line>
      {own.map(([k, label]) => (
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
