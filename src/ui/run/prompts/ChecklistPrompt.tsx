import { Box, Text } from 'ink';
import React from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { useTheme } from '../../context';
import { LAYER, useKeys } from '../../keys';
import type { ChecklistTick } from '../runState';

type Item = Extract<InputRequest, { kind: 'checklist-item' }>;

/** One item at a time: space/enter/y ticks it, n leaves it unticked (x is the key map's stop, not a tick). Earlier items stay listed. */
export function ChecklistPrompt({ request, ticks, onAnswer }: { request: Item; ticks: ChecklistTick[]; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (key.return || input === ' ' || input === 'y') onAnswer({ kind: 'checklist-item', ticked: true });
    else if (input === 'n') onAnswer({ kind: 'checklist-item', ticked: false });
    else return false;
    return true;
  }, LAYER.prompt);
  // Ticked items appear in the output above (the engine reports each, auto-ticked ones too).
  const unticked = ticks.filter((tick) => !tick.ticked).length;
  return (
    <Box flexDirection="column">
      <Line>
        <Text bold>[ ] {request.label}</Text>
        <Text color={theme.muted}>
          {' '}
          (item {request.index + 1} of {request.total}){unticked ? ` · ${unticked} left unticked` : ''} — space/enter tick · n not done
        </Text>
      </Line>
    </Box>
  );
}

export function checklistRows(): number {
  return 1;
}
