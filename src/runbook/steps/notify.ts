import { MutxError, oneLine } from '../../core/errors';
import { redactUrl, registerUrlFromEnv, secretUrlFromEnv, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runNotify(step: StepOf<'notify'>, c: StepContext): Promise<StepOutcome> {
  const url = secretUrlFromEnv(step.webhook_env);
  if (!url) {
    if (step.required) throw new MutxError('config', `$${step.webhook_env} is not set`, { hint: 'set it to the webhook URL' });
    return { skipped: `no webhook configured ($${step.webhook_env} unset)` };
  }
  const body = {
    text: `${c.state.drill ? '[DRILL] ' : ''}${step.message}`,
    runbook: c.state.runbook,
    run_id: c.state.id,
    environment: c.ctx.target.environment ?? null,
    target: c.ctx.target.redacted,
    operator: c.ctx.operator.name,
    drill: c.state.drill,
  };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.any([c.signal, AbortSignal.timeout(10_000)]) });
    await response.body?.cancel();
  } catch (error) {
    throw new MutxError('runbook', `notify ${redactUrl(url)} failed: ${oneLine((error as { cause?: unknown }).cause ?? error)}`);
  }
  if (!response.ok) throw new MutxError('runbook', `notify ${redactUrl(url)} answered ${response.status}`);
  return { summary: `notified: "${body.text}"` };
}

export const notifyStep: StepHandler<'notify'> = {
  run: runNotify,
  preview: (step) => {
    registerUrlFromEnv(step.webhook_env);
    return [`POST to $${step.webhook_env}: "${step.message}"`];
  },
};
