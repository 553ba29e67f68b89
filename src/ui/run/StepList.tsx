import { Box, Text } from 'ink';
import React from 'react';
import { Line } from '../components/Line';
import { windowAround } from '../components/SelectList';
import { Spinner } from '../components/Spinner';
import { useTheme } from '../context';
import { formatDuration } from '../format';
import { SYMBOL, type Theme } from '../theme';
import type { StepView } from './runState';

/** Every step with its state; a window around the current one when they do not all fit. */
export function StepList({ steps, current, height }: { steps: StepView[]; current: number; height: number }) {
  const { start, end } = windowAround(steps.length, Math.max(0, current), height);
  return (
    <Box flexDirection="column">
      {steps.slice(start, end).map((step, i) => (
        <StepRow key={step.id} step={step} index={start + i} total={steps.length} isCurrent={start + i === current} />
      ))}
    </Box>
  );
}

function StepRow({ step, index, total, isCurrent }: { step: StepView; index: number; total: number; isCurrent: boolean }) {
  const theme = useTheme();
  const width = String(total).length;
  const number = `${String(index + 1).padStart(width)}.`;
  return (
    <Line>
      <Text>{isCurrent ? SYMBOL.pointer : ' '} </Text>
      <StatusSymbol step={step} theme={theme} />
      <Text> </Text>
      <Text bold={isCurrent}>
        {number} {step.title}
      </Text>
      {step.destructive ? <Text color={theme.warn}> [destructive]</Text> : null}
      <StepStatusText step={step} theme={theme} />
    </Line>
  );
}

function StatusSymbol({ step, theme }: { step: StepView; theme: Theme }) {
  switch (step.status) {
    case 'running':
      return <Spinner color={theme.accent} />;
    case 'waiting':
      return <Text color={theme.warn}>{SYMBOL.running}</Text>;
    case 'done':
      return <Text color={theme.ok}>{SYMBOL.done}</Text>;
    case 'skipped':
      return <Text color={theme.muted}>{SYMBOL.skipped}</Text>;
    case 'failed':
      return <Text color={theme.danger}>{SYMBOL.failed}</Text>;
    default:
      return <Text color={theme.muted}>{SYMBOL.pending}</Text>;
  }
}

function StepStatusText({ step, theme }: { step: StepView; theme: Theme }) {
  switch (step.status) {
    case 'running':
      return <Text color={theme.accent}> — running</Text>;
    case 'waiting':
      return <Text color={theme.warn}> — waiting for you</Text>;
    case 'done':
      return (
        <Text color={theme.muted}>
          {' '}
          — done{step.durationMs !== undefined ? ` in ${formatDuration(step.durationMs)}` : ''}
          {step.summary ? `: ${step.summary}` : ''}
        </Text>
      );
    case 'skipped':
      return <Text color={theme.muted}> — skipped{step.skipReason ? `: ${step.skipReason}` : ''}</Text>;
    case 'failed':
      return <Text color={theme.danger}> — failed{step.error ? `: ${step.error}` : ''}</Text>;
    default:
      return <Text color={theme.muted}> — pending</Text>;
  }
}
