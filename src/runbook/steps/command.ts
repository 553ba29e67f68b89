import readline from 'node:readline';
import { execa } from 'execa';
import { stringify as toYaml } from 'yaml';
import { redactSecrets, targetUrl } from '../../core/connection';
import { MutxError, oneLine } from '../../core/errors';
import type { StdinValueSource } from '../schema';
import { commandFor, showCommand, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

export async function runCommand(step: StepOf<'command'>, c: StepContext): Promise<StepOutcome> {
  const argv = step.command ?? commandFor(c, step.command_ref!);
  if (!argv) {
    throw new MutxError('config', `environment ${c.ctx.target.environment ?? '(none)'} has no "${step.command_ref}" command`, { hint: `set environments.<name>.commands.${step.command_ref} in mutx-ops.yaml` });
  }
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TERM', 'KUBECONFIG', ...step.pass_env]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  let input: string | undefined;
  if (step.stdin_values_from_env) {
    const values: Record<string, unknown> = {};
    const missing: string[] = [];
    for (const [dotted, source] of Object.entries(step.stdin_values_from_env)) {
      const value = valueOf(source, c);
      if (value !== undefined) setDotted(values, dotted, value);
      else if (!isOptional(source)) missing.push(sourceName(source));
    }
    if (missing.length) {
      // This process's environment cannot change while it runs: a retry here could never pass.
      throw new MutxError('config', `${step.title}: ${missing.join(', ')} not set`, {
        hint: `export ${missing.join(', ')} in a shell and resume there: \`mutx-ops run --resume ${c.state.id}\``,
        details: { retryCannotPass: true },
      });
    }
    input = toYaml(values);
  }
  const started = Date.now();
  const child = execa(argv[0]!, argv.slice(1), {
    cwd: c.ctx.settings.root,
    env,
    extendEnv: false,
    input,
    stdin: input === undefined ? 'ignore' : undefined,
    timeout: step.timeout_seconds * 1000,
    cancelSignal: c.signal,
    forceKillAfterDelay: 3000,
    reject: false,
    buffer: false,
  });
  const pipe = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
    if (!stream) return;
    readline.createInterface({ input: stream }).on('line', (line) => c.emit({ type: 'output', stepId: step.id, line: redactSecrets(line), stream: name }));
  };
  pipe(child.stdout, 'stdout');
  pipe(child.stderr, 'stderr');
  const ticker = setInterval(() => c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'command', elapsedMs: Date.now() - started, timeoutMs: step.timeout_seconds * 1000 } }), 1000);
  const result = await child.finally(() => clearInterval(ticker));
  if (result.timedOut) throw new MutxError('timeout', `${showCommand(argv)} did not finish within ${step.timeout_seconds}s (killed)`);
  if (result.isCanceled) throw new MutxError('runbook', `${showCommand(argv)} cancelled by the operator`);
  if (result.failed && result.exitCode === undefined) throw new MutxError('runbook', `cannot run ${argv[0]}: ${oneLine(result.originalMessage ?? result.shortMessage)}`, { hint: `is ${argv[0]} installed and on PATH?` });
  if (result.exitCode !== 0) throw new MutxError('runbook', `${showCommand(argv)} exited with ${result.exitCode}`);
  return { summary: `${showCommand(argv)} finished in ${((Date.now() - started) / 1000).toFixed(1)} s` };
}

function valueOf(source: StdinValueSource, c: StepContext): string | undefined {
  if (typeof source === 'object' && 'target' in source) return targetUrl(c.ctx.target);
  return process.env[sourceName(source)] || undefined;
}

const isOptional = (source: StdinValueSource) => typeof source === 'object' && 'env' in source && source.optional;
const sourceName = (source: StdinValueSource) => (typeof source === 'string' ? source : 'env' in source ? source.env : "the run's database URL");
const describeSource = (source: StdinValueSource) => `${sourceName(source)}${isOptional(source) ? ' (if set)' : ''}`;

function setDotted(target: Record<string, unknown>, dotted: string, value: string): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

export const commandStep: StepHandler<'command'> = {
  run: runCommand,
  preview: (step, c) => {
    const argv = step.command ?? commandFor(c, step.command_ref!) ?? [];
    return [`$ ${showCommand(argv)}`, `timeout ${step.timeout_seconds}s, in ${c.ctx.settings.root}`, ...(step.stdin_values_from_env ? [`values on stdin from: ${Object.values(step.stdin_values_from_env).map(describeSource).join(', ')} (never on the command line)`] : [])];
  },
  recheck: rerunIfConfirmed,
};

/** A command or restore that was running when the run stopped may have finished: ask before repeating it. */
export async function rerunIfConfirmed(step: { title: string }, c: StepContext): Promise<StepOutcome | undefined> {
  const response = await c.ask({ kind: 'confirm', prompt: `"${step.title}" was running when the run stopped. Run it again?` });
  if (response.kind === 'confirm' && !response.ok) return { skipped: 'operator: was already done before the interruption' };
  return undefined;
}
