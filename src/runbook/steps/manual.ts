import { MutxError } from '../../core/errors';
import { runCommand } from './command';
import { commandFor, showCommand, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runManual(step: StepOf<'manual'>, c: StepContext): Promise<StepOutcome> {
  const argv = step.command_ref ? commandFor(c, step.command_ref) : undefined;
  if (argv) return runCommand({ ...step, type: 'command', command: argv, command_ref: undefined, timeout_seconds: 600, pass_env: [] }, c);
  const response = await c.ask({ kind: 'confirm', prompt: `${step.title} — confirm when done`, detail: [step.text] });
  if (response.kind === 'confirm' && response.ok) return { summary: 'done (confirmed by the operator)' };
  throw new MutxError('runbook', `"${step.title}" was not confirmed`, { hint: 'do it, then retry the step' });
}

export const manualStep: StepHandler<'manual'> = {
  run: runManual,
  preview: (step, c) => {
    const argv = step.command_ref ? commandFor(c, step.command_ref) : undefined;
    return argv ? [`$ ${showCommand(argv)} (the environment's "${step.command_ref}" command)`] : ['an action outside mutx-ops: confirm when it is done'];
  },
};
