import { MutxError, oneLine } from '../../core/errors';
import { redactUrl, registerUrlFromEnv, secretUrlFromEnv, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runHttpCheck(step: StepOf<'http-check'>, c: StepContext): Promise<StepOutcome> {
  const url = step.url ?? (step.url_env ? secretUrlFromEnv(step.url_env) : undefined);
  if (!url) {
    if (step.skip_if_unset) return { skipped: `$${step.url_env} is not set` };
    throw new MutxError('runbook', `no URL: $${step.url_env} is not set`);
  }
  const shown = redactUrl(url, { keepPath: Boolean(step.url) });
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([c.signal, AbortSignal.timeout(step.timeout_seconds * 1000)]), redirect: 'follow' });
    await response.body?.cancel();
  } catch (error) {
    throw new MutxError('runbook', `GET ${shown} failed: ${oneLine((error as { cause?: unknown }).cause ?? error)}`, { hint: 'check the URL and that the host is reachable' });
  }
  if (response.status !== step.expect_status) throw new MutxError('runbook', `GET ${shown} answered ${response.status}, expected ${step.expect_status}`);
  return { summary: `GET ${shown} → ${response.status}` };
}

export const httpCheckStep: StepHandler<'http-check'> = {
  run: runHttpCheck,
  preview: (step) => {
    registerUrlFromEnv(step.url_env);
    return [`GET ${step.url ? redactUrl(step.url, { keepPath: true }) : `$${step.url_env}`} expecting ${step.expect_status}`];
  },
};
