import { Box } from 'ink';
import React, { useSyncExternalStore } from 'react';
import { Footer, type KeyHint } from '../components/Footer';
import { useScreenHelp } from '../help';
import { LAYER, useKeys } from '../keys';
import { promptKeys } from '../run/prompts/PromptPanel';
import { RunView } from '../run/RunView';
import { isStepRunning } from '../run/runState';
import type { RunSession } from '../run/session';
import type { DrillDebriefView, TargetIdentity } from '../services';
import { Line } from '../components/Line';
import { useTheme } from '../context';
import { SYMBOL } from '../theme';

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
      {snapshot.result?.debrief ? <DebriefPanel debrief={snapshot.result.debrief} /> : null}
      <Footer keys={keys} />
    </Box>
  );
}

/** The end of a drill: the criteria as the database showed them, time to recovery, what was skipped. */
function DebriefPanel({ debrief }: { debrief: DrillDebriefView }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" marginTop={1}>
      <Line bold color={debrief.passed ? theme.ok : theme.danger}>
        Drill debrief: {debrief.passed ? 'PASSED' : 'NOT PASSED'} · time to recovery {debrief.timeToRecovery ?? (debrief.passed ? 'n/a (no failure seen)' : 'not recovered')}
      </Line>
      {debrief.criteria.map((c, i) => (
        <Line key={i} color={c.ok === false ? theme.danger : c.ok === null ? theme.warn : undefined}>
          {'  '}
          {c.ok === true ? SYMBOL.done : c.ok === false ? SYMBOL.failed : '?'} {c.description} — {c.observed}
        </Line>
      ))}
      {debrief.skipped.slice(0, 4).map((line, i) => (
        <Line key={`s${i}`} color={theme.muted}>
          {'  '}skipped {line}
        </Line>
      ))}
      <Line color={theme.muted}>  timeline and details: mutx-ops drill --debrief {debrief.drillId}</Line>
    </Box>
  );
}
