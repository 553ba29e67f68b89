import { Box, Text } from 'ink';
import React from 'react';
import { Line } from '../components/Line';
import { useTheme } from '../context';
import { SYMBOL } from '../theme';
import type { OutputLine } from './runState';
import { terminalLine } from '../../core/terminalText';

/**
 * The newest `height` output lines: a bounded window, so pg_dump --verbose or a log at
 * thousands of lines a second never grows the live region. Matches and stderr are marked
 * with a symbol as well as a colour.
 */
export function OutputWindow({ lines, height, total }: { lines: OutputLine[]; height: number; total: number }) {
  const theme = useTheme();
  if (height <= 0) return null;
  const shown = lines.slice(-height);
  const hidden = total - shown.length;
  return (
    <Box flexDirection="column">
      {shown.map((line, i) => (
        <Line key={line.seq} color={line.stream === 'match' ? theme.danger : line.stream === 'stderr' ? theme.warn : line.stream === 'info' ? theme.muted : undefined}>
          {i === 0 && hidden > 0 ? <Text color={theme.muted}>[+{hidden}] </Text> : null}
          {line.stream === 'match' ? `${SYMBOL.failed} ` : line.stream === 'stderr' ? '! ' : '  '}
          {terminalLine(line.line) /* a command's or log's output may carry terminal escapes */}
        </Line>
      ))}
    </Box>
  );
}
