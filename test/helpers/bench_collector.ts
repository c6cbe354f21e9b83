import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtelcol } from './collector.js';
import { freePort } from './net.js';
import type { Child } from './process.js';

/**
 * The bench's throughput Collector: the same binary as the tests' Collector, receiving OTLP/HTTP, but
 * exporting to the `debug` exporter at `verbosity: basic`, which logs one line per export call with its
 * counts ("data points": N) and writes nothing else (both its own sampling and the service logger's are off, so every export is counted). The file exporter's JSON marshalling and disk writes
 * are then not what limits the run; the bench counts points from those log lines.
 */
export class CountingCollector {
  private proc: Child | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-bench-otelcol-'));
  private pending = '';
  private output = '';
  port = 0;
  /** Data points the debug exporter has reported so far. */
  points = 0;
  /** Date.now() when `points` last grew. */
  lastArrival = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.proc.pid;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const config = `receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:${this.port}\n` +
      `exporters:\n  debug:\n    verbosity: basic\n    sampling_initial: 1000000000\n    sampling_thereafter: 1\n` +
      `service:\n  telemetry:\n    metrics:\n      level: none\n    logs:\n      level: info\n      encoding: json\n      sampling:\n        enabled: false\n` +
      `  pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [debug]\n`;
    const read = (d: Buffer) => {
      const text = this.pending + d.toString();
      const lines = text.split('\n');
      this.pending = lines.pop()!;
      for (const line of lines) {
        const m = /"data points":\s*(\d+)/.exec(line);
        if (m) {
          this.points += Number(m[1]);
          this.lastArrival = Date.now();
        } else if (this.output.length < 65536) this.output += `${line}\n`;
      }
    };
    this.proc = await startOtelcol(this.dir, config, read, () => this.output);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}
