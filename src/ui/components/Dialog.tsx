import { Box, Text } from 'ink';
import React from 'react';
import { useTheme } from '../context';
import { LAYER, useKeys } from '../keys';
import { Line } from './Line';

/** A yes/no question that blocks every other key until answered (y / n or esc). */
export function Dialog({ title, lines, yes, no, onAnswer }: { title: string; lines: string[]; yes: string; no: string; onAnswer: (yes: boolean) => void }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (input === 'y' || input === 'Y') onAnswer(true);
    else if (input === 'n' || input === 'N' || key.escape) onAnswer(false);
    else if (key.ctrl && input === 'c') onAnswer(true);
    return true;
  }, LAYER.dialog);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.warn} paddingX={1}>
      <Line bold color={theme.warn}>
        {title}
      </Line>
      {lines.map((line, i) => (
        <Line key={i}>{line}</Line>
      ))}
      <Text wrap="truncate-end">
        <Text bold>y</Text> {yes} · <Text bold>n</Text> {no}
      </Text>
    </Box>
  );
}
