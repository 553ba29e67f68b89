import { latestVerifiedBackup } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { presentReview } from './review';
import { info, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runChecklist(step: StepOf<'checklist'>, c: StepContext): Promise<StepOutcome> {
  const ticked = new Set(c.stepState.ticked ?? []);
  for (const [index, item] of step.items.entries()) {
    if (ticked.has(item.id)) continue;
    if (item.auto_backup_max_age_minutes !== undefined) {
      const backup = latestVerifiedBackup(c.ctx.settings, c.ctx.target, item.auto_backup_max_age_minutes);
      if (backup) {
        info(c, `✔ ${item.label} — verified backup ${backup.file} from ${backup.createdAt}`);
        ticked.add(item.id);
        c.stepState.ticked = [...ticked];
        c.save();
        continue;
      }
    }
    if (item.review) {
      // The item is the review itself: it opens it and is ticked once it was shown.
      const outcome = await presentReview(item.review, c, item.label);
      info(c, `✔ ${item.label} — ${outcome.summary ?? outcome.skipped}`);
      ticked.add(item.id);
      c.stepState.ticked = [...ticked];
      c.save();
      continue;
    }
    const response = await c.ask({ kind: 'checklist-item', itemId: item.id, label: item.label, index, total: step.items.length });
    if (response.kind !== 'checklist-item' || !response.ticked) {
      throw new MutxError('runbook', `checklist item "${item.label}" is not done`, { hint: 'do it, then retry; or skip the checklist with a reason' });
    }
    info(c, `✔ ${item.label}`);
    ticked.add(item.id);
    c.stepState.ticked = [...ticked];
    c.save();
  }
  return { summary: `${step.items.length} item(s) confirmed` };
}

export const checklistStep: StepHandler<'checklist'> = { run: runChecklist };
