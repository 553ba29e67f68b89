import { Box } from 'ink';
import React, { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Footer, type KeyHint } from '../components/Footer';
import { useScreenHelp, useScreenKeys, type Binding } from '../help';
import { isUp } from '../keys';
import { promptKeys } from '../run/prompts/PromptPanel';
import { RunView } from '../run/RunView';
import { isStepRunning } from '../run/runState';
import type { RunSession } from '../run/session';
import type { DrillDebriefView, TargetIdentity } from '../services';
import { Line } from '../components/Line';
import { useTerminalSize, useTheme } from '../context';
import { SYMBOL } from '../theme';

/** A run in progress (or finished): RunView plus the keys around the engine's questions. */
export function RunScreen({ session, identity, onBack, onOpenLogs, onStop }: { session: RunSession; identity: TargetIdentity; onBack: () => void; onOpenLogs: () => void; onStop: () => void }) {
  const snapshot = useSyncExternalStore(session.subscribe, session.getSnapshot);
  const over = snapshot.settled;
  const running = isStepRunning(snapshot.state);
  const { rows } = useTerminalSize();
  // Scrollback over the whole run's output (0: live), and `f` for a failure's whole error.
  const [scrollBack, setScrollBack] = useState(0);
  const [full, setFull] = useState(false);
  const [limit, setLimit] = useState(snapshot.state.output.length + snapshot.state.steps.length);
  const total = limit;
  const page = Math.max(1, rows - 8);
  const scroll = (delta: number) => setScrollBack((n) => Math.max(0, Math.min(total, n + delta)));
  // Scrolled back, the view stays on the lines being read while new output arrives below them.
  const seen = useRef(snapshot.state.outputTotal);
  useEffect(() => {
    const grown = snapshot.state.outputTotal - seen.current;
    seen.current = snapshot.state.outputTotal;
    if (grown > 0) setScrollBack((n) => (n > 0 ? n + grown : 0));
  }, [snapshot.state.outputTotal]);
  const cancellingNow = Boolean(snapshot.cancelling && !over);
  const bindings: Binding[] = [
    { id: 'choose', label: 'back to home', when: over, run: () => onBack() },
    { id: 'back', label: over ? 'back to home' : 'home (the run continues)', when: !cancellingNow, run: () => onBack() },
    { id: 'move', label: 'scroll back through the whole run’s output', run: (input, key) => scroll(isUp(input, key) ? 1 : -1) },
    { id: 'page', run: (_input, key) => scroll(key.pageUp ? page : -page) },
    { id: 'ends', label: 'oldest output / back to live', run: (input) => setScrollBack(input === 'g' ? total : 0) },
    { id: 'full', label: full ? 'the error’s first lines only' : 'the full error (not cut)', run: () => setFull((v) => !v) },
    { id: 'stop', label: 'stop the run (aborted; asks first)', when: !over && !cancellingNow, run: () => onStop() },
    { id: 'logs', run: () => onOpenLogs() },
  ];
  const own = useScreenKeys(`run ${snapshot.state.runbook}`, bindings, { help: false });
  const promptHints: KeyHint[] = !over && !cancellingNow && snapshot.prompt ? promptKeys(snapshot.prompt.request) : [];
  const ctrlC: KeyHint[] = running && !over ? [['ctrl+c', 'cancel step']] : [];
  const tail: KeyHint[] = over ? [['q', 'quit']] : [['?', 'help']];
  // Help lists the open question's keys (its prompt handles them) and every binding above.
  useScreenHelp(`run ${snapshot.state.runbook}`, cancellingNow ? own : [...promptHints, ...ctrlC, ...own]);
  // The footer keeps to what an operator needs now (one row at 80 columns); `?` has the rest.
  const failed = Boolean(snapshot.state.error || snapshot.prompt?.request.kind === 'failure' || (over && snapshot.state.finished?.outcome !== 'completed'));
  const shortIds = new Set([over ? 'choose' : 'back', 'stop', 'logs', ...(failed ? ['full'] : [])]);
  const short = bindings.filter((b) => b.when !== false && shortIds.has(b.id)).map((b) => own[bindings.filter((x) => x.when !== false).indexOf(b)]!);
  const keys: KeyHint[] = cancellingNow ? [['…', 'waiting for the engine to stop cleanly'], ...short] : [...promptHints, ...ctrlC, ...short, ...tail];
  return (
    <Box flexDirection="column">
      <RunView snapshot={snapshot} identity={identity} preselect={session.spec.selectedRevision ?? session.spec.selectedBackup} scrollBack={Math.min(scrollBack, limit)} full={full} onScrollLimit={setLimit} onAnswer={(id, response) => session.answer(id, response)} />
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
