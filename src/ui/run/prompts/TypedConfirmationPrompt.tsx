import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTheme } from '../../context';
import { clampLines } from '../../format';
import { SYMBOL } from '../../theme';

type Typed = Extract<InputRequest, { kind: 'typed-confirmation' }>;

/**
 * A destructive step on a protected environment: shows exactly what will happen, then asks
 * for the database name typed out. Enter with anything else says so and waits; esc declines.
 */
export function TypedConfirmationPrompt({ request, maxRows, onAnswer }: { request: Typed; maxRows: number; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const [value, setValue] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const detail = clampLines(request.detail, Math.max(0, maxRows - 3));
  return (
    <Box flexDirection="column">
      <Line color={theme.danger} bold>
        {SYMBOL.warning} {request.prompt}
      </Line>
      {detail.map((line, i) => (
        <Line key={i}>  {line}</Line>
      ))}
      <TextField
        label={`Type ${request.expected} to confirm: `}
        value={value}
        onChange={(next) => {
          setValue(next);
          setMismatch(false);
        }}
        onSubmit={(text) => {
          if (text === request.expected) onAnswer({ kind: 'typed-confirmation', text });
          else setMismatch(true);
        }}
        onCancel={() => onAnswer({ kind: 'typed-confirmation', text: '' })}
      />
      <Line color={mismatch ? theme.danger : theme.muted}>
        {mismatch ? (
          <Text>
            {SYMBOL.failed} "{value}" does not match — type exactly {request.expected}, or esc to not do it
          </Text>
        ) : (
          <Text>enter confirm · esc do not run it</Text>
        )}
      </Line>
    </Box>
  );
}

export function typedRows(request: Typed, maxRows: number): number {
  return Math.min(maxRows, 3 + request.detail.length);
}
