import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputResponse, ReviewLine, ReviewRequest } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTheme } from '../../context';
import { isDown, isUp, LAYER, useKeys } from '../../keys';
import { SYMBOL, type Theme } from '../../theme';

/**
 * The migration review, read in the run: SQL per revision, findings, table sizes, scrolled with
 * j/k, space and PgUp/PgDn. Enter confirms only once the last line has been on screen (before that it
 * pages on). An error-level finding on a protected environment then asks for a reason and the
 * database name typed; esc says "not reviewed".
 */
export function ReviewPrompt({ request, maxRows, onAnswer }: { request: ReviewRequest; maxRows: number; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const height = Math.max(1, maxRows - 3);
  const last = Math.max(0, request.lines.length - height);
  const [offset, setOffset] = useState(0);
  const [seenEnd, setSeenEnd] = useState(request.lines.length <= height);
  const [stage, setStage] = useState<'read' | 'reason' | 'typed'>('read');
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const scroll = (to: number) => {
    const next = Math.max(0, Math.min(last, to));
    setOffset(next);
    if (next >= last) setSeenEnd(true);
  };
  useKeys(
    (input, key) => {
      if (isDown(input, key)) scroll(offset + 1);
      else if (isUp(input, key)) scroll(offset - 1);
      else if (input === ' ' || key.pageDown) scroll(offset + height);
      else if (key.pageUp) scroll(offset - height);
      else if (input === 'G') scroll(last);
      else if (input === 'g') scroll(0);
      else if (key.return) {
        if (!seenEnd) scroll(offset + height);
        else if (request.acknowledge) setStage('reason');
        else onAnswer({ kind: 'review', seen: true });
      } else if (key.escape) onAnswer({ kind: 'review', seen: false });
      else return false;
      return true;
    },
    LAYER.prompt,
    stage === 'read',
  );
  const { error, warning, info, waived } = request.counts;
  return (
    <Box flexDirection="column">
      <Line>
        <Text color={error ? theme.danger : warning ? theme.warn : theme.ok} bold>
          {error ? SYMBOL.warning : SYMBOL.waiting} {request.title}
        </Text>
        <Text color={theme.muted}>
          {' '}
          · {error} error(s), {warning} warning(s), {info} info{waived ? `, ${waived} waived` : ''} · lines {Math.min(request.lines.length, offset + 1)}–{Math.min(request.lines.length, offset + height)} of {request.lines.length}
        </Text>
      </Line>
      {request.lines.slice(offset, offset + height).map((line, i) => (
        <Line key={offset + i} color={lineColor(line, theme)} bold={line.style === 'heading'}>
          {line.text}
        </Line>
      ))}
      {stage === 'read' ? (
        <Line color={theme.muted}>
          {seenEnd ? (request.acknowledge ? 'enter: acknowledge the error-level findings' : 'enter: reviewed') : 'enter/space: next page (read to the end to confirm)'} · j/k scroll · esc not reviewed
        </Line>
      ) : stage === 'reason' ? (
        <TextField
          label="Why is it safe to go ahead? (audit trail) "
          value={reason}
          onChange={setReason}
          onSubmit={(text) => {
            if (text.trim()) setStage('typed');
          }}
          onCancel={() => setStage('read')}
        />
      ) : (
        <Box flexDirection="column">
          <TextField
            label={`Type ${request.acknowledge!.expected} to acknowledge: `}
            value={typed}
            onChange={(next) => {
              setTyped(next);
              setMismatch(false);
            }}
            onSubmit={(text) => {
              if (text === request.acknowledge!.expected) onAnswer({ kind: 'review', seen: true, reason: reason.trim(), typed: text });
              else setMismatch(true);
            }}
            onCancel={() => setStage('reason')}
          />
          {mismatch ? <Line color={theme.danger}>{SYMBOL.failed} does not match — type exactly {request.acknowledge!.expected}</Line> : null}
        </Box>
      )}
    </Box>
  );
}

function lineColor(line: ReviewLine, theme: Theme): string | undefined {
  switch (line.style) {
    case 'error':
      return theme.danger;
    case 'warning':
      return theme.warn;
    case 'sql':
    case 'detail':
    case 'waived':
      return theme.muted;
    case 'info':
      return theme.accent;
    default:
      return undefined;
  }
}

export function reviewRows(request: ReviewRequest, maxRows: number): number {
  return Math.min(maxRows, request.lines.length + 3);
}
