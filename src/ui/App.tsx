import { Box, useApp } from 'ink';
import React, { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Dialog } from './components/Dialog';
import { HelpOverlay } from './components/HelpOverlay';
import { Line } from './components/Line';
import { EnvironmentBanner } from './components/TargetHeader';
import { UiProvider, useTerminalSize, useTheme, type TerminalSize } from './context';
import { HelpProvider, type HelpInfo } from './help';
import { isCtrlC, KeyboardRoot, LAYER, useKeys } from './keys';
import { isStepRunning } from './run/runState';
import { RunSession, type RunSpec, type SessionSnapshot } from './run/session';
import { restoreRunbook, rollbackRunbook } from './runbookPicks';
import { AuditScreen } from './screens/AuditScreen';
import { BackupsScreen } from './screens/BackupsScreen';
import { HistoryScreen } from './screens/HistoryScreen';
import { HomeScreen, type ActiveRunSummary, type ScreenName } from './screens/HomeScreen';
import { LogsScreen } from './screens/LogsScreen';
import { RunScreen } from './screens/RunScreen';
import type { ResumableRun, RunbookList, Services } from './services';
import type { Theme } from './theme';

export interface AppProps {
  services: Services;
  theme?: Theme;
  /** Fixed terminal size (tests); by default the real one, following resizes. */
  size?: TerminalSize;
  /** Flush interval of the run's event buffer (ms). */
  flushMs?: number;
  /** How often home reads the target's status again (ms; tests shorten it). */
  homePollMs?: number;
}

type Screen = 'home' | 'run' | ScreenName;
type DialogKind = 'quit' | 'pause' | 'cancel' | 'stop';
type DialogText = { title: string; lines: string[]; yes: string; no: string };

/** The interactive app: screens on a stack, one run session at a time, global keys. */
export function App({ services, theme, size, flushMs, homePollMs }: AppProps) {
  const { exit } = useApp();
  return (
    <UiProvider theme={theme} size={size}>
      <CrashGuard onCrash={exit}>
        <KeyboardRoot>
          <Shell services={services} flushMs={flushMs} homePollMs={homePollMs} />
        </KeyboardRoot>
      </CrashGuard>
    </UiProvider>
  );
}

/**
 * A render error ends the app with one line (the entry prints it after restoring the
 * terminal) instead of a stack trace drawn over the screen.
 */
class CrashGuard extends React.Component<{ onCrash: (error: Error) => void; children: React.ReactNode }, { crashed: boolean }> {
  override state = { crashed: false };

  static getDerivedStateFromError(): { crashed: boolean } {
    return { crashed: true };
  }

  override componentDidCatch(error: Error): void {
    this.props.onCrash(error);
  }

  override render(): React.ReactNode {
    return this.state.crashed ? null : this.props.children;
  }
}

const noSubscribe = () => () => {};
const noSnapshot = () => undefined;

function Shell({ services, flushMs, homePollMs }: { services: Services; flushMs?: number; homePollMs?: number }) {
  const { exit } = useApp();
  const theme = useTheme();
  const { columns } = useTerminalSize();
  const identity = useMemo(() => services.target(), [services]);
  const [stack, setStack] = useState<Screen[]>(['home']);
  const [session, setSession] = useState<RunSession | null>(null);
  const snapshot: SessionSnapshot | undefined = useSyncExternalStore(session?.subscribe ?? noSubscribe, session?.getSnapshot ?? noSnapshot);
  const [dialog, setDialogKind] = useState<DialogKind | null>(null);
  /** The dialog's text as it was when it opened: a question never changes under the operator's eyes. */
  const [dialogText, setDialogText] = useState<DialogText | undefined>();
  const dialogTexts = useRef<Record<DialogKind, DialogText> | undefined>(undefined);
  const setDialog = useCallback((kind: DialogKind | null) => {
    setDialogKind(kind);
    setDialogText(kind ? dialogTexts.current?.[kind] : undefined);
  }, []);
  /** Restore / rollback picked on Backups or History: asked once more before the run starts. */
  const [pendingStart, setPendingStart] = useState<{ spec: RunSpec; title: string; lines: string[]; banner?: string } | null>(null);
  const [help, setHelp] = useState(false);
  const [helpInfo, setHelpInfo] = useState<HelpInfo>({ screen: 'home', keys: [] });
  const [quitting, setQuitting] = useState<'cancelling' | 'pausing' | 'forced' | false>(false);
  /** "A run is in progress" — about that session: shown only while it is still running. */
  const [notice, setNotice] = useState<{ text: string; session: RunSession } | undefined>();
  // Runbooks are parsed after the first frame: the target header shows at once.
  const [catalog, setCatalog] = useState<{ list: RunbookList; resumable: ResumableRun[] } | undefined>();
  const [catalogLoads, setCatalogLoads] = useState(0);
  useEffect(() => {
    const handle = setImmediate(() => setCatalog({ list: services.runbooks(), resumable: services.resumableRuns() }));
    return () => clearImmediate(handle);
  }, [services, catalogLoads]);
  const reloadCatalog = useCallback(() => setCatalogLoads((n) => n + 1), []);
  const runbooks = catalog?.list.runbooks ?? [];
  const rollback = rollbackRunbook(runbooks);
  const restore = restoreRunbook(runbooks);
  const screen = stack[stack.length - 1] ?? 'home';
  const active = Boolean(session && snapshot && !snapshot.settled);
  const stepRunning = Boolean(snapshot && active && isStepRunning(snapshot.state));

  const push = useCallback((next: Screen) => setStack((s) => (s[s.length - 1] === next ? s : [...s, next])), []);
  const pop = useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []);

  const startSession = useCallback(
    (spec: RunSpec) => {
      if (session && !session.getSnapshot().settled) {
        setNotice({ text: `a run of ${session.spec.name} is in progress: finish or stop it (x) first`, session });
        return;
      }
      session?.dispose();
      const next = new RunSession(services, spec, flushMs);
      setSession(next);
      setNotice(undefined);
      setStack(['home', 'run']);
      void next.start();
    },
    [services, session, flushMs],
  );

  // The operator chose "switch to <runbook>" in a failure prompt: start it right away.
  const switched = useRef<RunSession | null>(null);
  useEffect(() => {
    if (!session || !snapshot?.settled || switched.current === session) return;
    const to = snapshot.result?.switchTo ?? snapshot.state.finished?.switchTo;
    if (snapshot.result?.outcome === 'switched' && to) {
      switched.current = session;
      // A drill goes on in the runbook the operator switched to: same fault, same debrief.
      startSession({ name: to, drill: session.spec.drill });
    }
  }, [session, snapshot, startSession]);

  const leaveRun = useCallback(() => {
    if (session?.getSnapshot().settled) {
      session.dispose();
      setSession(null);
    }
    setStack(['home']);
    reloadCatalog();
  }, [session, reloadCatalog]);

  const quitNow = useCallback(() => {
    session?.dispose();
    exit();
  }, [exit, session]);

  const waitingForOperator = Boolean(active && snapshot?.prompt && !stepRunning);
  const requestQuit = useCallback(() => {
    // A run waiting for an answer is left paused (resumable); only a running step is cancelled first.
    if (waitingForOperator) setDialog('pause');
    else if (active) setDialog('quit');
    else quitNow();
  }, [active, waitingForOperator, quitNow]);

  const cancelAndThen = useCallback(
    (then: 'quit' | 'stay') => {
      if (!session) return;
      session.cancel();
      if (then === 'quit') {
        setQuitting('cancelling');
        void session.done.then(() => quitNow());
      }
    },
    [session, quitNow],
  );

  const onDialog = (yes: boolean) => {
    const kind = dialog;
    setDialog(null);
    if (!yes) return;
    if (kind === 'pause' && session) {
      setQuitting('pausing');
      void session.pause().then(() => quitNow());
    } else if (kind === 'quit') cancelAndThen('quit');
    else cancelAndThen('stay');
  };

  // Ctrl+C comes first, whatever has focus: ask before cancelling a run; quit otherwise.
  useKeys((input, key) => {
    if (!isCtrlC(input, key)) return false;
    if (quitting === 'cancelling') {
      setQuitting('forced');
      return true;
    }
    if (quitting === 'forced') {
      exit();
      return true;
    }
    if (dialog) onDialog(true);
    else if (active) setDialog('cancel');
    else quitNow();
    return true;
  }, LAYER.interrupt);

  // Global keys, after the screen had its chance.
  useKeys((input, key) => {
    if (input === '?') setHelp(true);
    else if (input === 'q') requestQuit();
    else if (key.escape && stack.length > 1) pop();
    else return false;
    return true;
  }, LAYER.app);

  const activeRun: ActiveRunSummary | undefined =
    session && snapshot && !snapshot.settled
      ? {
          runbook: snapshot.state.runbook,
          title: snapshot.state.title,
          status: snapshot.prompt ? 'waiting for you' : stepRunning ? `running step ${snapshot.state.current + 1}/${snapshot.state.steps.length}` : 'running',
        }
      : undefined;

  const runningStep = snapshot?.state.steps.find((s) => s.status === 'running');
  const runningTitle = runningStep?.title;
  // What cancelling the running step really does depends on the step: a log watch has no transaction.
  const cancelEffect = runningStep?.type === 'logs' ? 'The log watch stops (nothing to roll back).' : runningStep?.type === 'command' || runningStep?.type === 'manual' ? 'The command is stopped (SIGTERM, then SIGKILL).' : 'The engine cancels it on the server, rolls back its transaction and releases the lock.';
  const dialogs: Record<DialogKind, DialogText> = {
    cancel: stepRunning
      ? { title: `Cancel the running step "${runningTitle}"?`, lines: [cancelEffect, 'The run then ends as aborted (recorded in the audit trail).'], yes: 'cancel the step', no: 'keep it running' }
      : { title: `Stop the run of ${snapshot?.state.runbook}?`, lines: ['Nothing is running right now; the run ends here as aborted (recorded in the audit trail).'], yes: 'stop the run', no: 'keep going' },
    stop: { title: `Stop the run of ${snapshot?.state.runbook}?`, lines: [stepRunning ? `The running step "${runningTitle}" is cancelled: ${cancelEffect.replace(/^The /, 'the ')}` : 'The run stops at this step.', 'It ends as aborted (recorded in the audit trail).'], yes: 'stop', no: 'keep going' },
    pause: {
      title: 'Quit and leave the run paused?',
      lines: [
        `The run of ${snapshot?.state.runbook} waits for you at step ${(snapshot?.state.current ?? 0) + 1}/${snapshot?.state.steps.length ?? '?'}.`,
        'It stays paused there: nothing is aborted or undone.',
        'Resume it from home (↻ resume), or with:',
        `  mutx-ops run --resume ${snapshot?.state.runId ?? 'RUN_ID'}`,
        'To abort it instead: no, then x (stop run).',
      ],
      yes: 'quit, run paused',
      no: 'stay',
    },
    quit: { title: 'Quit mutx-ops?', lines: [stepRunning ? `A step is running ("${runningTitle}"): quitting cancels it first. ${cancelEffect}` : `The run of ${snapshot?.state.runbook} is stopped here (aborted, recorded in the audit trail).`], yes: 'quit', no: 'stay' },
  };
  dialogTexts.current = dialogs;

  const overlay = quitting ? (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line color={theme.warn} bold>
        {quitting === 'pausing' ? 'leaving the run paused (resumable)…' : quitting === 'forced' ? 'still cancelling — ctrl+c again quits without waiting (the run may need resuming)' : 'cancelling the run before quitting: waiting for the engine to roll back and release the lock…'}
      </Line>
    </Box>
  ) : pendingStart ? (
    <Box flexDirection="column">
      {pendingStart.banner ? (
        // A drill's dialog names the drill's own database, not the app's target.
        <Line bold color={theme.warn}>
          {pendingStart.banner}
        </Line>
      ) : (
        <EnvironmentBanner identity={identity} />
      )}
      <Dialog
        title={pendingStart.title}
        lines={pendingStart.lines}
        yes="start it"
        no="not now"
        onAnswer={(yes) => {
          const spec = pendingStart.spec;
          setPendingStart(null);
          if (yes) startSession(spec);
        }}
      />
    </Box>
  ) : dialog ? (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Dialog {...(dialogText ?? dialogs[dialog])} onAnswer={onDialog} />
    </Box>
  ) : help ? (
    <HelpOverlay screen={helpInfo.screen} keys={helpInfo.keys} onClose={() => setHelp(false)} />
  ) : null;

  return (
    <HelpProvider onChange={setHelpInfo}>
      <Box flexDirection="column" width={columns}>
      {overlay}
      <Box flexDirection="column" display={overlay ? 'none' : 'flex'}>
        {notice && !notice.session.getSnapshot().settled ? <Line color={theme.warn}>{notice.text}</Line> : null}
        {screen === 'home' ? (
          <HomeScreen
            services={services}
            catalog={catalog}
            onRefresh={reloadCatalog}
            activeRun={activeRun}
            onStart={(runbook) => startSession({ name: runbook.name, title: runbook.title })}
            onStartDrill={(drill) =>
              setPendingStart({
                spec: { name: drill.runbook, title: `Drill: ${drill.title}`, drill: drill.name },
                title: `Start the practice drill "${drill.title}"?`,
                banner: `◎ PRACTICE DRILL on ${drill.database ?? `the drill's own database`} in the local sandbox`,
                lines: [drill.briefing.trim(), `You practise the ${drill.runbook} runbook; fault: ${drill.fault}.`, 'It runs on its own database in the local sandbox (started if needed): nothing else is touched. A debrief ends it.'],
              })
            }
            onResume={(run) => startSession({ name: run.runbook, resumeRunId: run.id, seeds: run.steps })}
            onReturnToRun={() => push('run')}
            onOpen={push}
            pollMs={homePollMs}
          />
        ) : screen === 'run' && session ? (
          <RunScreen session={session} identity={identity} onBack={leaveRun} onOpenLogs={() => push('logs')} onStop={() => setDialog('stop')} />
        ) : screen === 'logs' ? (
          <LogsScreen services={services} onBack={pop} />
        ) : screen === 'history' ? (
          <HistoryScreen
            services={services}
            rollbackRunbook={rollback?.name}
            // The run shows its plan (from → to, the backup) and asks before it changes anything.
            onRollback={(revision) => startSession({ name: rollback!.name, title: rollback!.title, selectedRevision: revision })}
            onBack={pop}
          />
        ) : screen === 'backups' ? (
          <BackupsScreen
            services={services}
            restoreRunbook={restore?.name}
            onRestore={(file) => startSession({ name: restore!.name, title: restore!.title, selectedBackup: file })}
            onBack={pop}
          />
        ) : screen === 'audit' ? (
          <AuditScreen services={services} onBack={pop} />
        ) : null}
      </Box>
      </Box>
    </HelpProvider>
  );
}
