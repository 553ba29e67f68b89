import fs from 'node:fs';
import path from 'node:path';
import { loadProjectSettings, type ProjectSettings } from '../../src/core/config';
import { destroySandbox } from '../../src/core/sandbox';
import type { Debrief } from '../../src/runbook/drill/drill';
import { REPO_ROOT, createTestProject, runCli, type TestProject } from './db';

/** A project with the repo's migrations and runbooks (drills included) whose drills run on its own sandbox. */
export interface DrillProject {
  project: TestProject;
  settings: ProjectSettings;
  cli(args: string[], env?: Record<string, string | undefined>): ReturnType<typeof runCli>;
  /** `drill ARGS --json`: exit code, the debrief, and the printed events. */
  drill(args: string[], env?: Record<string, string | undefined>): Promise<{ exitCode: number; debrief: Debrief; stderr: string; all: string }>;
  cleanup(): Promise<void>;
}

export function createDrillProject(settingsYaml = 'lock_wait_seconds: 10\n'): DrillProject {
  const project = createTestProject({ settings: settingsYaml });
  fs.cpSync(path.join(REPO_ROOT, 'runbooks'), path.join(project.dir, 'runbooks'), { recursive: true });
  const settings = loadProjectSettings({ cwd: project.dir });
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: project.dir, env: { DATABASE_URL: '', ...env } });
  return {
    project,
    settings,
    cli,
    drill: async (args, env) => {
      const result = await cli(['--json', 'drill', ...args], env);
      // --json prints the run's events as JSON lines, then the debrief object last.
      const lines = String(result.stdout).trim().split('\n');
      const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { debrief?: Debrief };
      if (!last.debrief) throw new Error(`drill ${args.join(' ')} printed no debrief (exit ${result.exitCode}): ${String(result.all).slice(-2000)}`);
      return { exitCode: result.exitCode ?? -1, debrief: last.debrief, stderr: String(result.stderr), all: String(result.all) };
    },
    cleanup: async () => {
      await destroySandbox(settings);
      project.cleanup();
    },
  };
}

export function criterion(debrief: Debrief, id: string): { ok: boolean | null; observed: string } {
  const found = debrief.criteria.find((c) => c.id === id);
  if (!found) throw new Error(`debrief has no criterion ${id}: ${debrief.criteria.map((c) => c.id).join(', ')}`);
  return found;
}
