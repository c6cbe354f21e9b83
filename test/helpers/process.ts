import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { waitFor } from './net.js';

/**
 * A process a test starts (the Collector, ws2otel, a control plane): its output handed to `onOutput`,
 * killed if the test process ends first (however it ends), stopped with a signal and killed when it
 * does not exit in time.
 */
export class Child {
  readonly proc: ChildProcess;
  /** The exit code, 128 + n after signal n, null while it runs. */
  exitCode: number | null = null;
  private readonly exited: Promise<number>;

  constructor(command: string, args: string[], onOutput: (d: Buffer, stream: 'stdout' | 'stderr') => void, env?: NodeJS.ProcessEnv) {
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    this.proc = proc;
    const reap = () => proc.exitCode === null && proc.kill('SIGKILL');
    process.once('exit', reap);
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      process.off('exit', reap);
      resolve((this.exitCode = code ?? (signal ? 128 + constants.signals[signal] : -1)));
    }));
    proc.stdout!.on('data', (d: Buffer) => onOutput(d, 'stdout'));
    proc.stderr!.on('data', (d: Buffer) => onOutput(d, 'stderr'));
  }

  /** Waits until `ready()` holds; throws `failure(code)` when the process exits first. */
  async until(what: string, ready: () => boolean | Promise<boolean>, timeoutMs: number, failure: (code: number) => string, everyMs?: number): Promise<void> {
    await waitFor(what, async () => this.exitCode !== null || (await ready()), timeoutMs, everyMs);
    if (this.exitCode !== null) throw new Error(failure(this.exitCode));
  }

  /** Sends `signal`, then SIGKILL when it has not exited after `killAfterMs`; resolves with its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 10_000): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), killAfterMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
