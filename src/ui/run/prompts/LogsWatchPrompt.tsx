import React from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import { Line } from '../../components/Line';
import { LAYER, useKeys } from '../../keys';

type Watch = Extract<InputRequest, { kind: 'logs-watch' }>;

/** The logs step watches by itself; enter ends the watch early once the operator is satisfied. */
export function LogsWatchPrompt({ request, onAnswer }: { request: Watch; onAnswer: (response: InputResponse) => void }) {
  useKeys((_input, key) => {
    if (!key.return) return false;
    onAnswer({ kind: 'logs-watch', done: true });
    return true;
  }, LAYER.prompt);
  return <Line bold>{request.prompt} (enter when satisfied)</Line>;
}
