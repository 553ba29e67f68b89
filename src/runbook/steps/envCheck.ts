import { MutxError } from '../../core/errors';
import { info, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runEnvCheck(step: StepOf<'env-check'>, c: StepContext): Promise<StepOutcome> {
  const isSet = (name: string) => Boolean(process.env[name]?.trim());
  const problems: string[] = [];
  for (const name of step.required) {
    info(c, `${name}: ${isSet(name) ? 'set' : 'MISSING (required)'}`);
    if (!isSet(name)) problems.push(`${name} is required`);
  }
  for (const group of step.all_or_none) {
    const set = group.filter(isSet);
    for (const name of group) info(c, `${name}: ${isSet(name) ? 'set' : 'not set'} (all or none of ${group.join(', ')})`);
    if (set.length > 0 && set.length < group.length) problems.push(`${set.join(', ')} set but ${group.filter((n) => !isSet(n)).join(', ')} missing (set all of ${group.join(', ')} or none)`);
  }
  for (const name of step.optional) info(c, `${name}: ${isSet(name) ? 'set' : 'not set'} (optional)`);
  if (problems.length) throw new MutxError('runbook', problems.join('; '), { hint: 'export the missing variables (values are never shown)' });
  return { summary: `${step.required.length + step.all_or_none.flat().length + step.optional.length} variable(s) checked` };
}

export const envCheckStep: StepHandler<'env-check'> = {
  run: runEnvCheck,
  preview: (step) => [`check variables (values are never shown): ${[...step.required, ...step.all_or_none.flat(), ...step.optional].join(', ')}`],
};
