import { Box } from 'ink';
import React, { useState } from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { TextField } from '../../components/TextField';
import { useTheme } from '../../context';

type SkipReason = Extract<InputRequest, { kind: 'skip-reason' }>;

/** Why is this step skipped? The reason goes to the audit trail; an empty one is not accepted. */
export function SkipReasonPrompt({ request, onAnswer }: { request: SkipReason; onAnswer: (response: InputResponse) => void }) {
  const theme = useTheme();
  const [reason, setReason] = useState('');
  const [empty, setEmpty] = useState(false);
  return (
    <Box flexDirection="column">
      <Line bold>{request.prompt}</Line>
      <TextField
        label="Reason: "
        value={reason}
        onChange={(next) => {
          setReason(next);
          setEmpty(false);
        }}
        onSubmit={(text) => {
          if (text.trim()) onAnswer({ kind: 'skip-reason', reason: text.trim() });
          else setEmpty(true);
        }}
      />
      {empty ? <Line color={theme.danger}>a reason is required</Line> : null}
    </Box>
  );
}
