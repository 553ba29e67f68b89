import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTerminalSize, useTheme } from '../../context';
import { clampLines, wrapText } from '../../format';
import { LAYER, useKeys } from '../../keys';
import { SYMBOL } from '../../theme';

type Failure = Extract<InputRequest, { kind: 'failure' }>;

/** The step failed: the error, then the runbook's on_failure offers as keys. */
export function FailurePrompt({ request, onAnswer }: { request: Failure; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const { columns } = useTerminalSize();
  const [skipping, setSkipping] = useState(false);
  const [reason, setReason] = useState('');
  const offers = failureKeys(request);
  useKeys(
    (input) => {
      const offer = offers.find((o) => o.key === input);
      if (!offer) return false;
      if (offer.choice === 'skip') setSkipping(true);
      else onAnswer({ kind: 'failure', choice: offer.choice });
      return true;
    },
    LAYER.prompt,
    !skipping,
  );
  return (
    <Box flexDirection="column">
      {clampLines(wrapText(`${SYMBOL.failed} ${request.error}`, columns - 2), FAILURE_ERROR_ROWS).map((line, i) => (
        <Line key={i} color={theme.danger} bold>
          {line}
        </Line>
      ))}
      {skipping ? (
        <TextField
          label="Why skip it? "
          placeholder="a reason for the audit trail"
          value={reason}
          onChange={setReason}
          onSubmit={(text) => {
            if (text.trim()) onAnswer({ kind: 'failure', choice: 'skip', reason: text.trim() });
          }}
          onCancel={() => setSkipping(false)}
        />
      ) : (
        <Line>
          {offers.map((o, i) => (
            <Text key={o.key}>
              {i > 0 ? ' · ' : ''}
              <Text bold>{o.key}</Text> {o.label}
            </Text>
          ))}
        </Line>
      )}
    </Box>
  );
}

export const FAILURE_ERROR_ROWS = 3;

export function failureRows(request: Failure, columns: number): number {
  return 1 + Math.min(FAILURE_ERROR_ROWS, wrapText(`${SYMBOL.failed} ${request.error}`, columns - 2).length);
}

export interface FailureKey {
  key: string;
  label: string;
  choice: 'retry' | 'skip' | 'abort' | 'wait' | { switch: string };
}

export function failureKeys(request: Failure): FailureKey[] {
  const keys: FailureKey[] = [];
  let n = 0;
  for (const offer of request.offers) {
    if (offer === 'retry') keys.push({ key: 'r', label: 'retry', choice: 'retry' });
    else if (offer === 'skip') keys.push({ key: 's', label: 'skip (with a reason)', choice: 'skip' });
    else if (offer === 'abort') keys.push({ key: 'a', label: 'abort the run', choice: 'abort' });
    else if (offer === 'wait') keys.push({ key: 'w', label: 'wait for the blocker to end, then retry', choice: 'wait' });
    else keys.push({ key: String(++n), label: `switch to ${offer.switch}`, choice: { switch: offer.switch } });
  }
  return keys;
}
