import { Box } from 'ink';
import React, { useSyncExternalStore } from 'react';
import { Footer, type KeyHint } from '../components/Footer';
import { useScreenHelp } from '../help';
import { LAYER, useKeys } from '../keys';
import { promptKeys } from '../run/prompts/PromptPanel';
import { RunView } from '../run/RunView';
import { isStepRunning } from '../run/runState';
import type { RunSession } from '../run/session';
import type { TargetIdentity } from '../services';

/** A run in progress (or finished): RunView plus the keys around the engine's questions. */
export function RunScreen({ session, identity, onBack, onOpenLogs, onStop }: { session: RunSession; identity: TargetIdentity; onBack: () => void; onOpenLogs: () => void; onStop: () => void }) {
  const snapshot = useSyncExternalStore(session.subscribe, session.getSnapshot);
  const over = snapshot.settled;
  const running = isStepRunning(snapshot.state);
  const keys: KeyHint[] = snapshot.cancelling && !over
    ? [['…', 'waiting for the engine to stop cleanly'], ['l', 'logs']]
    : over
    ? [
        ['enter/esc', 'back to home'],
        ['l', 'logs'],
        ['q', 'quit'],
      ]
    : [
        ...(snapshot.prompt ? promptKeys(snapshot.prompt.request) : []),
        ...(running ? ([['ctrl+c', 'cancel step']] as KeyHint[]) : []),
        ['x', 'stop run'],
        ['l', 'logs'],
        ['esc', 'home (run continues)'],
        ['?', 'help'],
      ];
  useScreenHelp(`run ${snapshot.state.runbook}`, keys);
  useKeys((input, key) => {
    if (over && (key.return || key.escape)) onBack();
    else if (!over && key.escape) onBack();
    else if (input === 'l') onOpenLogs();
    else if (input === 'x' && !over) onStop();
    else return false;
    return true;
  }, LAYER.screen);
  return (
    <Box flexDirection="column">
      <RunView snapshot={snapshot} identity={identity} preselect={session.spec.selectedRevision ?? session.spec.selectedBackup} onAnswer={(id, response) => session.answer(id, response)} />
      <Footer keys={keys} />
    </Box>
  );
}
