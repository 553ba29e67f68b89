import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputResponse, PlanRequest } from '../../../runbook/events';
import { planLines } from '../../../runbook/planText';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTheme } from '../../context';
import { LAYER, useKeys } from '../../keys';
import { SYMBOL } from '../../theme';

const HEADER_ROWS = 2;
const FOOTER_ROWS = 2;

/**
 * The run's plan, asked once before the first step that changes anything: where it acts and
 * what every remaining step will do. Protected: the database name typed; elsewhere only `y`
 * (Enter says so and does nothing); the sandbox also takes Enter. n / esc: nothing is done.
 */
export function PlanPrompt({ request, maxRows, onAnswer }: { request: PlanRequest; maxRows: number; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const lines = planLines(request.steps);
  const height = Math.max(1, maxRows - HEADER_ROWS - FOOTER_ROWS);
  const last = Math.max(0, lines.length - height);
  const [offset, setOffset] = useState(0);
  const [typed, setTyped] = useState('');
  const [hint, setHint] = useState<string | undefined>();
  const scroll = (to: number) => setOffset(Math.max(0, Math.min(last, to)));
  useKeys((input, key) => {
    // In typed mode the field takes letters: only arrows and page keys scroll.
    const letters = request.mode !== 'typed';
    if (key.downArrow || (letters && input === 'j')) scroll(offset + 1);
    else if (key.upArrow || (letters && input === 'k')) scroll(offset - 1);
    else if (key.pageDown || (letters && input === ' ')) scroll(offset + height);
    else if (key.pageUp) scroll(offset - height);
    else if (!letters) return false;
    else if (input === 'y' || (key.return && request.mode === 'enter')) onAnswer({ kind: 'plan', ok: true });
    else if (key.return) setHint('enter is not enough here: press y to run this plan, n to not run it');
    else if (input === 'n' || key.escape) onAnswer({ kind: 'plan', ok: false });
    else return false;
    return true;
  }, LAYER.prompt);
  return (
    <Box flexDirection="column">
      <Line>
        <Text color={request.mode === 'typed' ? theme.danger : theme.warn} bold>
          {request.mode === 'typed' ? SYMBOL.warning : '?'} Run this plan? Next: "{request.firstChange}" changes {request.expected}
        </Text>
      </Line>
      <Line color={theme.muted}>
        {'  '}on {request.target}
        {lines.length > height ? ` · lines ${offset + 1}–${Math.min(lines.length, offset + height)} of ${lines.length} (↑/↓)` : ''}
      </Line>
      {lines.slice(offset, offset + height).map((line, i) => (
        <Line key={offset + i} color={/\[destructive\]/.test(line) ? theme.danger : undefined}>
          {'  '}
          {line}
        </Line>
      ))}
      {request.mode === 'typed' ? (
        <>
          <TextField
            label={`Type ${request.expected} to run this plan: `}
            value={typed}
            onChange={(next) => {
              setTyped(next);
              setHint(undefined);
            }}
            onSubmit={(text) => {
              if (text === request.expected) onAnswer({ kind: 'plan', ok: true, typed: text });
              else setHint(`"${text.slice(0, 40)}" does not match — type exactly ${request.expected}, or esc to not run it`);
            }}
            onCancel={() => onAnswer({ kind: 'plan', ok: false })}
          />
          <Line color={hint ? theme.danger : theme.muted}>{hint ? `${SYMBOL.failed} ${hint}` : 'enter confirm · esc do not run it'}</Line>
        </>
      ) : (
        <>
          <Line bold>{request.mode === 'enter' ? 'enter/y run this plan · n/esc do not (practice sandbox)' : 'y run this plan · n/esc do not'}</Line>
          <Line color={hint ? theme.warn : theme.muted}>{hint ?? 'nothing has been changed yet'}</Line>
        </>
      )}
    </Box>
  );
}

export function planRows(request: PlanRequest, maxRows: number): number {
  return Math.min(maxRows, planLines(request.steps).length + HEADER_ROWS + FOOTER_ROWS);
}
