import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from './net.js';
import { Child } from './process.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** ws2otel as users run it: a child process on a config file, its JSON log lines collected. */
export class DaemonProcess {
  private child: Child | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-daemon-'));
  readonly configFile = join(this.dir, 'config.yaml');
  stdout = '';
  stderr = '';
  httpPort = 0;

  constructor(private readonly config: Record<string, unknown>, private readonly env: NodeJS.ProcessEnv = {}) {}

  async start(): Promise<void> {
    this.httpPort ||= await freePort();
    const http = { address: `127.0.0.1:${this.httpPort}`, ...((this.config.http as object | undefined) ?? {}) };
    writeFileSync(this.configFile, stringify({ ...this.config, http }));
    // WS2OTEL_DAEMON_NODE_ARGS lets the bench profile the daemon (e.g. --cpu-prof).
    const nodeArgs = (process.env.WS2OTEL_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = new Child(process.execPath, [...nodeArgs, CLI, 'run', '--config', this.configFile], (d, stream) => (this[stream] += d.toString()), { ...process.env, ...this.env });
    this.child = child;
    // Ready when its listener answers: log lines depend on the configured level.
    await child.until('ws2otel to start', () => this.healthy(), 20_000, (code) => `ws2otel exited ${code}:\n${this.stdout}\n${this.stderr}`);
  }

  /** The running process (for its pid, or a signal the test sends itself). */
  get proc(): Child['proc'] | undefined {
    return this.child?.proc;
  }

  /** Its exit code (128 + n after signal n), null while it runs or before it started. */
  get exitCode(): number | null {
    return this.child?.exitCode ?? null;
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
    return this.child ? this.child.stop(signal, timeoutMs) : 0;
  }
}
