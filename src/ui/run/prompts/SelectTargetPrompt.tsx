import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { clampIndex, SelectList } from '../../components/SelectList';
import { useTheme } from '../../context';
import { isDown, isUp, LAYER, useKeys } from '../../keys';
import { SYMBOL } from '../../theme';

type Select = Extract<InputRequest, { kind: 'select-target' }>;

/** Pick a revision or backup; opens on the one chosen elsewhere (History, Backups) if any. */
export function SelectTargetPrompt({ request, preselect, current, maxRows, onAnswer }: { request: Select; preselect?: string; /** Where the database is (marked; a rollback target is below it). */ current?: string[]; maxRows: number; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const initial = preselect ? request.options.findIndex((o) => o.value === preselect || o.revision === preselect || o.value.endsWith(`/${preselect}`)) : -1;
  const [selected, setSelected] = useState(Math.max(0, initial));
  useKeys((input, key) => {
    if (isUp(input, key)) setSelected((s) => clampIndex(s - 1, request.options.length));
    else if (isDown(input, key)) setSelected((s) => clampIndex(s + 1, request.options.length));
    else if (key.return) onAnswer({ kind: 'select-target', value: request.options[selected]?.value });
    else if (key.escape) onAnswer({ kind: 'select-target', value: undefined });
    else return false;
    return true;
  }, LAYER.prompt);
  return (
    <Box flexDirection="column">
      <Line bold>
        {request.prompt ? `Choose: ${request.prompt}` : 'Choose the target'}{initial >= 0 ? <Text color={theme.muted}> (preselected: {preselect})</Text> : null}
        {current ? <Text color={theme.accent}> · the database is at {current.join('+') || 'base'}</Text> : null}
        <Text color={theme.muted}> — j/k move · enter choose · esc none</Text>
      </Line>
      {request.options.length === 0 ? <Line color={theme.warn}>no candidates</Line> : null}
      <SelectList
        items={request.options}
        selected={selected}
        height={Math.max(1, maxRows - 1)}
        render={(option, _index, isSelected) => (
          <Line inverse={isSelected}>
            {isSelected ? SYMBOL.pointer : ' '} {option.kind === 'backup' ? 'backup  ' : 'revision'} {option.label}
            {option.revision && current?.includes(option.revision) ? <Text color={theme.accent}> ◀ {option.kind === 'backup' ? 'holds the revision the database is at' : 'the database is here'}</Text> : null}
          </Line>
        )}
      />
    </Box>
  );
}

export function selectRows(request: Select, maxRows: number): number {
  return Math.min(maxRows, 1 + Math.max(1, request.options.length));
}
