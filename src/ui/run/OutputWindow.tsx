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
export function OutputWindow({ lines, height, total, offset = 0 }: { lines: OutputLine[]; height: number; total: number; /** Lines scrolled back from the newest. */ offset?: number }) {
  const theme = useTheme();
  if (height <= 0) return null;
  const end = Math.max(0, lines.length - offset);
  const shown = lines.slice(Math.max(0, end - height), end);
  const hidden = total - shown.length - offset;
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
