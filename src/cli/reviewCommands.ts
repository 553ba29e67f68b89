import type { Command } from 'commander';
import { ExitCode } from '../core/errors';
import type { Direction } from '../core/migrations/plan';
import { sandboxUrl } from '../core/sandbox';
import { coreContextFrom, noDatabaseConfigured, settingsFrom } from './context';
import type { Runner } from './migrationCommands';

/**
 * `mutx-ops review [upgrade|downgrade] [TARGET]`: the plan's SQL per revision and the findings
 * on it, with table sizes from the live database. Exit 3 when an error-level finding is not
 * waived (for CI), 2 for bad input or configuration. The parser is loaded only here.
 */
export function registerReviewCommands(program: Command, run: Runner, signal: AbortSignal): void {
  program
    .command('review')
    .description('lock-aware safety review of a plan: SQL per revision and findings (exit 3 on an error-level finding)')
    .argument('[direction]', 'upgrade (default) or downgrade')
    .argument('[target]', 'upgrade: head (default), heads, +N, ID; downgrade: -1 (default), -N, ID, base')
    .option('--offline', 'do not connect: upgrades from base, downgrades from the heads, no table sizes')
    .option('--brief', 'findings only, without each revision’s SQL')
    .option('--rules', 'list the rules and their levels')
    .action((first: string | undefined, second: string | undefined, opts: { offline?: boolean; brief?: boolean; rules?: boolean }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        if (opts.rules) {
          const { RULES } = await import('../core/review/rules');
          const configured = settings.review.rules as Record<string, string | undefined>;
          const rules = RULES.map((rule) => ({ id: rule.id, level: configured[rule.id] ?? rule.level, title: rule.title, lock: rule.lock, safe: rule.safe, size_aware: Boolean(rule.sizeAware) }));
          out.result({ rules }, () => rules.map((rule) => `${rule.id.padEnd(32)} ${rule.level.padEnd(7)} ${rule.title}`));
          return ExitCode.ok;
        }
        const direction: Direction = first === 'downgrade' ? 'downgrade' : 'upgrade';
        const target = (first === 'upgrade' || first === 'downgrade' ? second : first) ?? (direction === 'upgrade' ? 'head' : '-1');
        const { reviewFrom, reviewPlan, hasErrors } = await import('../core/review/review');
        const { reportLines } = await import('../core/review/report');
        const offline = Boolean(opts.offline) || ((await noDatabaseConfigured(globals, settings)) && !(await sandboxUrl(settings)));
        if (offline && !opts.offline) out.progress('mutx-ops: no database configured: reviewing offline (upgrades from base, no table sizes)');
        const report = offline ? await reviewFrom(settings, direction, target, direction === 'upgrade' ? [] : (await import('../core/migrations/operations')).loadGraph(settings).heads(), undefined) : await reviewPlan(await coreContextFrom(globals, { signal }), direction, target);
        out.result({ ok: !hasErrors(report), ...report }, () => reportLines(report, { root: settings.root, sql: !opts.brief }));
        return hasErrors(report) ? ExitCode.checkFailed : ExitCode.ok;
      }),
    );
}
