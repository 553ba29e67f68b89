import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

// eslint-disable-next-line no-control-regex
export const stripAnsi = (text: string) => text.replace(/\u001B\[[0-9;?<>=]*[ -/]*[@-~]|\u001B[()][0-9A-B]|\u001B[=>78]/g, '');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A command in a pseudo-terminal (util-linux `script`), 100×30, its output collected. */
export class Pty {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output = '';
  /** Bytes the command wrote so far (output keeps only the newest part). */
  bytes = 0;
  private waiters: (() => void)[] = [];

  constructor(command: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('script', ['-qfec', `stty cols 100 rows 30; exec ${command}`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    const collect = (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.output += chunk.toString('utf8');
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
  }

  /** The app's own process: `script`'s child (exec replaced the shell). */
  async appPid(): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const children = childrenOf(this.child.pid!);
      if (children.length) return children[0]!;
      await sleep(10);
    }
    throw new Error('no child process under script');
  }

  /** Resolves with performance.now() once the (ANSI-stripped) output contains or matches `expected`. */
  async waitFor(expected: string | RegExp, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const shown = () => {
      const text = stripAnsi(this.output);
      return typeof expected === 'string' ? text.includes(expected) : expected.test(text);
    };
    while (!shown()) {
      if (this.child.exitCode !== null) throw new Error(`exited (${this.child.exitCode}) before showing ${String(expected)}; output:\n${stripAnsi(this.output).slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`never showed ${String(expected)} within ${timeoutMs} ms; output:\n${stripAnsi(this.output).slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return performance.now();
  }

  write(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Exit code, or undefined if it had to be ended (SIGHUP) after timeoutMs. */
  async exit(timeoutMs: number): Promise<number | null | undefined> {
    const timer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref());
    const code = await Promise.race([this.exited, timer]);
    if (code !== undefined || this.child.exitCode !== null) return code ?? this.child.exitCode;
    this.child.kill('SIGHUP');
    await this.exited;
    return undefined;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null) return;
    for (const pid of childrenOf(this.child.pid!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
