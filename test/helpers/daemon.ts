import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort, waitFor } from './net.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** ws2otel as users run it: a child process on a config file, its JSON log lines collected. */
export class DaemonProcess {
  proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-daemon-'));
  readonly configFile = join(this.dir, 'config.yaml');
  stdout = '';
  stderr = '';
  httpPort = 0;
  exitCode: number | null = null;
  private exited: Promise<number> | undefined;

  constructor(private readonly config: Record<string, unknown>, private readonly env: NodeJS.ProcessEnv = {}) {}

  async start(): Promise<void> {
    this.httpPort ||= await freePort();
    const http = { address: `127.0.0.1:${this.httpPort}`, ...((this.config.http as object | undefined) ?? {}) };
    writeFileSync(this.configFile, stringify({ ...this.config, http }));
    // WS2OTEL_DAEMON_NODE_ARGS lets the bench profile the daemon (e.g. --cpu-prof).
    const nodeArgs = (process.env.WS2OTEL_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', this.configFile], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    // Never leave a daemon behind when the test process ends early.
    const reap = () => proc.exitCode === null && proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.off('exit', reap));
    proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? 128 + constants.signals[signal] : -1)))));
    // Ready when its listener answers: log lines depend on the configured level.
    await waitFor('ws2otel to start', async () => this.exitCode !== null || (await this.healthy()), 20_000);
    if (this.exitCode !== null) throw new Error(`ws2otel exited ${this.exitCode}:\n${this.stdout}\n${this.stderr}`);
  }

  private async healthy(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.httpPort}/healthz`)).ok;
    } catch {
      return false;
    }
  }

  logLines(): Record<string, unknown>[] {
    return this.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`);
    return res.text();
  }

  /** The value of one self-metric series, e.g. metric('ws2otel_source_frames_rejected_total', {reason: 'malformed_json'}). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([^{ ]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const l = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => l[k] === v)) sum += Number(m[3]);
    }
    return sum;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number> {
    if (!this.proc || this.exitCode !== null) return this.exitCode ?? 0;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), timeoutMs);
    const code = await this.exited!;
    clearTimeout(t);
    return code;
  }
}
