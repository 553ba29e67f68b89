import { Box, Text } from 'ink';
import React from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { useTheme } from '../../context';
import { clampLines } from '../../format';
import { LAYER, useKeys } from '../../keys';

type Confirm = Extract<InputRequest, { kind: 'confirm' }>;

/** "Run this step?": y (and Enter, unless the question defaults to no) says yes, n no. The detail lines say what it will do. */
export function ConfirmPrompt({ request, maxRows, onAnswer }: { request: Confirm; maxRows: number; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (input === 'y' || (key.return && !request.defaultNo)) onAnswer({ kind: 'confirm', ok: true });
    else if (input === 'n' || (key.return && request.defaultNo)) onAnswer({ kind: 'confirm', ok: false });
    else return false;
    return true;
  }, LAYER.prompt);
  const detail = clampLines(request.detail ?? [], Math.max(0, maxRows - 1));
  return (
    <Box flexDirection="column">
      <Line>
        <Text color={theme.warn} bold>
          ?{' '}
        </Text>
        <Text bold>{request.prompt}</Text>
        <Text color={theme.muted}>{request.defaultNo ? ' (y yes · enter/n no)' : ' (enter/y yes · n no)'}</Text>
      </Line>
      {detail.map((line, i) => (
        <Line key={i}>  {line}</Line>
      ))}
    </Box>
  );
}

export function confirmRows(request: Confirm, maxRows: number): number {
  return Math.min(maxRows, 1 + (request.detail?.length ?? 0));
}
