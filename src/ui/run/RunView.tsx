import { Box, Text } from 'ink';
import React, { useEffect, useState } from 'react';
import type { InputResponse } from '../../runbook/events';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Line } from '../components/Line';
import { useTerminalSize, useTheme } from '../context';
import { clampLines, formatDuration, wrapText } from '../format';
import type { TargetIdentity } from '../services';
import { SYMBOL } from '../theme';
import { allocateRows } from './layout';
import { OutputWindow } from './OutputWindow';
import { progressText } from './progressText';
import { PromptPanel, promptRows } from './prompts/PromptPanel';
import { focusStep, type OutputLine, type RunViewState, type StepView } from './runState';
import { endSummary as runEndSummary } from '../../runbook/endSummary';
import type { SessionSnapshot } from './session';
import { StepList } from './StepList';

/**
 * The run screen's body, drawn from a session snapshot: the step list, the focused step's
 * text, what it will do (preview), live progress, the newest output, and the open question.
 * Pure rendering: tests pass recorded snapshots.
 */
export function RunView({
  snapshot,
  identity,
  preselect,
  reservedRows = 1,
  scrollBack = 0,
  full = false,
  onScrollLimit,
  onAnswer,
}: {
  snapshot: SessionSnapshot;
  identity: TargetIdentity;
  preselect?: string;
  reservedRows?: number;
  /** Lines scrolled back from the newest (0: live). Scrolled back, the output of every step is shown. */
  scrollBack?: number;
  /** `f`: the whole error of a failure (not its first rows). */
  full?: boolean;
  /** How far back scrolling can go now (the screen clamps its scrollBack to it). */
  onScrollLimit?: (max: number) => void;
  onAnswer: (id: number, response: InputResponse) => void;
}) {
  const theme = useTheme();
  const { rows, columns } = useTerminalSize();
  const { state, prompt } = snapshot;
  const focus = focusStep(state);
  const index = focus ? state.steps.indexOf(focus) : -1;
  const promptStep = prompt ? state.steps.find((s) => s.id === prompt.stepId) : undefined;

  // The run id is copied for `runs show` / `--resume`: never cut. When the title line cannot hold it, it gets its own line.
  const idText = state.runId ? ` · run ${state.runId}` : ' · starting…';
  const titleLength = state.title.length + state.runbook.length + 3 + (state.resumed ? 10 : 0) + (state.drill ? 8 : 0);
  const idOwnLine = Boolean(state.runId) && titleLength + idText.length > columns;
  const fixed = 2 + (idOwnLine ? 1 : 0) + reservedRows + 1; // banner, title (and run id), footer (reserved), spare line
  // The plan is the one screen to read before anything changes: it gets most of the rows.
  const maxPrompt = Math.max(3, Math.floor(rows * (prompt?.request.kind === 'plan' ? 0.6 : 0.4)));
  const promptHeight = prompt ? promptRows(prompt.request, promptStep, maxPrompt, columns, full) : 0;
  const endRows = state.finished || state.error || snapshot.cancelling ? endLinesRows(snapshot, columns, full, identity) : 0;
  const hasProgress = focus?.status === 'running';
  const text = focus ? wrapText(focus.text, columns - 4) : [];
  // While the plan is asked, it is the preview (of every step): no second copy of this one's.
  const preview = prompt?.request.kind === 'plan' ? [] : focus?.preview ?? [];
  // Live: the focused step's output (earlier steps are summed up in the step list). Scrolled back:
  // the whole run's, each step's lines under its title.
  const reviewing = scrollBack > 0;
  const output = reviewing ? withStepTitles(state.output, state.steps) : focus ? state.output.filter((line) => line.stepId === focus.id) : state.output;

  const budget = rows - fixed - promptHeight - endRows - (focus ? 1 : 0) - (hasProgress ? 1 : 0) - (reviewing ? 1 : 0);
  const alloc = allocateRows(budget, [
    { name: 'steps', min: Math.min(3, state.steps.length), want: state.steps.length },
    { name: 'preview', min: Math.min(3, preview.length ? preview.length + 1 : 0), want: preview.length ? Math.min(preview.length, 6) + 1 : 0 },
    { name: 'text', min: Math.min(1, text.length), want: Math.min(text.length, 3) },
    { name: 'output', min: reviewing ? Math.min(8, output.length) : 0, want: output.length },
  ]);
  // Scrolled back, the output comes before the steps: that is what the operator asked to see.
  if (reviewing) Object.assign(alloc, allocateRows(budget, [
    { name: 'output', min: Math.min(output.length, Math.max(3, budget - 3)), want: output.length },
    { name: 'steps', min: Math.min(1, state.steps.length), want: state.steps.length },
    { name: 'text', min: 0, want: 0 },
    { name: 'preview', min: 0, want: 0 },
  ]));
  const outputRows = alloc.output ?? 0;
  const scrollLimit = Math.max(0, withStepTitles(state.output, state.steps).length - outputRows);
  const offset = Math.min(scrollBack, Math.max(0, output.length - outputRows));
  useEffect(() => onScrollLimit?.(scrollLimit), [onScrollLimit, scrollLimit]);

  return (
    <Box flexDirection="column">
      {state.drill && state.target ? (
        // A drill's own database, not the app's target: say so where the environment banner stands.
        <Line bold color={theme.warn}>
          ◎ PRACTICE DRILL on {state.target}
        </Line>
      ) : (
        <EnvironmentBanner identity={identity} />
      )}
      <Line>
        <Text bold>{state.title}</Text>
        <Text color={theme.muted}>
          {' '}
          ({state.runbook}){idOwnLine ? '' : idText}
          {state.resumed ? ' · resumed' : ''}
        </Text>
        {state.drill ? <Text color={theme.warn}> · DRILL</Text> : null}
      </Line>
      {idOwnLine ? <Line color={theme.muted}>run {state.runId}</Line> : null}
      <StepList steps={state.steps} current={index} height={alloc.steps ?? 0} />
      {focus ? <FocusHeader step={focus} index={index} total={state.steps.length} /> : null}
      {clampLines(text, alloc.text ?? 0).map((line, i) => (
        <Line key={`t${i}`} color={theme.muted}>
          {'  '}
          {line}
        </Line>
      ))}
      {(alloc.preview ?? 0) > 0 ? (
        <Box flexDirection="column">
          <Line bold>{focus?.status === 'pending' || focus?.status === 'waiting' ? '  Will do:' : '  Doing:'}</Line>
          {clampLines(preview, (alloc.preview ?? 1) - 1).map((line, i) => (
            <Line key={`p${i}`}>
              {'    '}
              {line}
            </Line>
          ))}
        </Box>
      ) : null}
      {hasProgress && focus ? <ProgressLine step={focus} /> : null}
      {reviewing ? (
        <Line color={theme.accent}>
          {'  '}output of the whole run · lines {Math.max(1, output.length - offset - (alloc.output ?? 0) + 1)}–{output.length - offset} of {output.length} · j/k pgup/pgdn scroll · G back to live
        </Line>
      ) : null}
      <OutputWindow lines={output} total={output.length} height={alloc.output ?? 0} offset={reviewing ? offset : 0} />
      {prompt ? <PromptPanel prompt={prompt} step={promptStep} maxRows={maxPrompt} preselect={preselect} full={full} current={state.startRevisions} onAnswer={(response) => onAnswer(prompt.id, response)} /> : null}
      <EndLines snapshot={snapshot} full={full} identity={identity} />
    </Box>
  );
}

function FocusHeader({ step, index, total }: { step: StepView; index: number; total: number }) {
  const theme = useTheme();
  return (
    <Line>
      <Text bold>
        Step {index + 1}/{total}: {step.title}
      </Text>
      <Text color={theme.muted}> ({step.type})</Text>
      {step.destructive ? <Text color={theme.danger}> {SYMBOL.warning} destructive</Text> : null}
      {step.attempts > 1 ? <Text color={theme.warn}> · attempt {step.attempts}</Text> : null}
    </Line>
  );
}

/** Progress as the engine reported it, plus a wall clock ticking once a second while the step runs. */
function ProgressLine({ step }: { step: StepView }) {
  const theme = useTheme();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const elapsed = step.startedAt ? formatDuration(Math.max(0, now - step.startedAt)) : '';
  return (
    <Line color={theme.accent}>
      {'  '}
      {step.progress ? progressText(step.progress) : 'working…'}
      <Text color={theme.muted}>{elapsed ? ` · step running ${elapsed}` : ''}</Text>
    </Line>
  );
}

/** Each step's output lines under a line with its title (the scrolled-back view of the whole run). */
export function withStepTitles(output: OutputLine[], steps: StepView[]): OutputLine[] {
  const out: OutputLine[] = [];
  let last: string | undefined;
  for (const line of output) {
    if (line.stepId !== last) {
      last = line.stepId;
      const index = steps.findIndex((s) => s.id === line.stepId);
      out.push({ seq: -1 - line.seq, stepId: line.stepId, line: `── step ${index + 1}: ${steps[index]?.title ?? line.stepId} ──`, stream: 'info' });
    }
    out.push(line);
  }
  return out;
}

/** The end message's rows: one (cut at the edge), or all of it wrapped with `f`. */
function endMessageLines(message: string, columns: number, full: boolean): string[] {
  return full ? wrapText(message, columns - 2) : [message];
}

function endLinesRows(snapshot: SessionSnapshot, columns: number, full: boolean, identity: TargetIdentity): number {
  const message = snapshot.state.error ?? snapshot.state.finished?.message;
  return 1 + (message !== undefined ? endMessageLines(message, columns, full).length : 1) + endSummaryRows(snapshot.state, identity, columns).length;
}

/** The run's end summary for this screen's target (see runbook/endSummary). */
export function endSummary(state: RunViewState, identity: TargetIdentity): { label: string; text: string }[] {
  const f = state.finished;
  if (!f) return [];
  const environment = state.environment && state.environment === identity.environment && !identity.problem ? state.environment : undefined;
  return runEndSummary({ runId: state.runId, outcome: f.outcome, where: f.where, drill: state.drill, environment, database: identity.database, protected: identity.protected });
}

/** The summary as terminal rows: wrapped under its label, never cut (a path or a command is copied). */
export function endSummaryRows(state: RunViewState, identity: TargetIdentity, columns: number): { label: string; text: string }[] {
  return endSummary(state, identity).flatMap(({ label, text }) => wrapText(text, columns - 11).map((row, i) => ({ label: i === 0 ? label : '', text: row })));
}

function EndLines({ snapshot, full, identity }: { snapshot: SessionSnapshot; full: boolean; identity: TargetIdentity }) {
  const theme = useTheme();
  const { columns } = useTerminalSize();
  const { state } = snapshot;
  if (state.error) {
    return (
      <Box flexDirection="column">
        <Line color={theme.danger} bold>
          {SYMBOL.failed} could not run {state.runbook}
        </Line>
        {endMessageLines(state.error, columns, full).map((line, i) => (
          <Line key={i} color={theme.danger}>
            {line}
          </Line>
        ))}
      </Box>
    );
  }
  if (state.finished) {
    const f = state.finished;
    const withSkips = f.outcome === 'completed' && / failed step\(s\) skipped: /.test(f.message);
    const ok = f.outcome === 'completed' && !withSkips;
    const symbol = ok ? SYMBOL.done : withSkips ? SYMBOL.warning : f.outcome === 'switched' ? '↪' : f.outcome === 'paused' ? '‖' : SYMBOL.failed;
    return (
      <Box flexDirection="column">
        <Line bold color={ok ? theme.ok : withSkips || f.outcome === 'switched' || f.outcome === 'paused' ? theme.warn : theme.danger}>
          {symbol} run {f.outcome}
          {withSkips ? ' with failed steps skipped' : ''}
          {f.switchTo ? ` — switching to ${f.switchTo}` : ''}
        </Line>
        {endMessageLines(f.message, columns, full).map((line, i) => (
          <Line key={i}>{line}</Line>
        ))}
        {endSummaryRows(state, identity, columns).map((line, i) => (
          <Line key={`w${i}`}>
            <Text bold>{`  ${line.label}`.padEnd(11)}</Text>
            {line.text}
          </Line>
        ))}
      </Box>
    );
  }
  if (snapshot.cancelling) {
    return (
      <Box flexDirection="column">
        <Line color={theme.warn} bold>
          cancelling… the engine cancels on the server, rolls back and releases the lock
        </Line>
        <Line color={theme.muted}>the run stops at a clean point and ends as aborted; nothing is left half-done</Line>
      </Box>
    );
  }
  return null;
}
