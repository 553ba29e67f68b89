import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTerminalSize, useTheme } from '../../context';
import { clampLines, wrapText } from '../../format';
import { LAYER, useKeys } from '../../keys';
import { SYMBOL } from '../../theme';
import { KEYMAP } from '../../keymap';

type Failure = Extract<InputRequest, { kind: 'failure' }>;

/** The step failed: the error, then the runbook's on_failure offers as keys. */
export function FailurePrompt({ request, full = false, onAnswer }: { request: Failure; /** `f`: the whole error, not its first rows. */ full?: boolean; onAnswer: (response: InputResponse) => void }) {
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
      {errorLines(request.error, columns, full).map((line, i) => (
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

/** The error's rows: the first FAILURE_ERROR_ROWS (`… N more line(s) · f shows all`), or every one with `f`. */
export function errorLines(error: string, columns: number, full: boolean): string[] {
  const all = wrapText(`${SYMBOL.failed} ${error}`, columns - 2);
  if (full || all.length <= FAILURE_ERROR_ROWS) return all;
  const kept = clampLines(all, FAILURE_ERROR_ROWS);
  kept[kept.length - 1] = `${kept[kept.length - 1]} · ${KEYMAP.full.hint} shows the full error`;
  return kept;
}

export function failureRows(request: Failure, columns: number, full = false): number {
  return 1 + errorLines(request.error, columns, full).length;
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
    // The key map's letters: t try again, s skip, x stop the run (as x does in the run view), 1–9 numbered choices.
    if (offer === 'retry') keys.push({ key: KEYMAP.retry.hint, label: 'try again', choice: 'retry' });
    else if (offer === 'skip') keys.push({ key: KEYMAP.skip.hint, label: 'skip (with a reason)', choice: 'skip' });
    else if (offer === 'abort') keys.push({ key: KEYMAP.stop.hint, label: 'stop the run (aborted)', choice: 'abort' });
    // After a lock timeout: a numbered choice (no letter of its own in the key map).
    else if (offer === 'wait') keys.push({ key: String(++n), label: 'wait for the blocker to end, then try again', choice: 'wait' });
    else keys.push({ key: String(++n), label: `switch to ${offer.switch}`, choice: { switch: offer.switch } });
  }
  return keys;
}
