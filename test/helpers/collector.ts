import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';
import { Child } from './process.js';

// The real OpenTelemetry Collector, built by scripts/collector-build.sh (cached outside the clone),
// receiving OTLP/HTTP (and optionally reading Kafka) and writing what it got to JSON files.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let binary: string | undefined;
export function collectorBinary(): string {
  if (binary) return binary;
  const fromEnv = process.env.WS2OTEL_OTELCOL;
  if (fromEnv && existsSync(fromEnv)) return (binary = fromEnv);
  const out = execFileSync('bash', [join(ROOT, 'scripts/collector-build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return (binary = out.trim().split('\n').pop()!);
}

/** TLS of the OTLP/HTTP receiver (configtls server settings); client_ca_file makes it require client certificates. */
export interface OtlpReceiverTls {
  cert_file: string;
  key_file: string;
  client_ca_file?: string;
}

/** Runs the Collector binary on `config` (YAML, written into `dir`) until it says it is ready. */
export async function startOtelcol(dir: string, config: string, onOutput: (d: Buffer) => void, output: () => string): Promise<Child> {
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, config);
  const child = new Child(collectorBinary(), ['--config', configFile], onOutput);
  try {
    await child.until('the Collector to start', () => /Everything is ready|Starting HTTP server/.test(output()), 60_000, (code) => `otelcol exited ${code}:\n${output()}`);
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  return child;
}

export interface KafkaReceiverOptions {
  brokers: string[];
  metricsTopic: string;
  logsTopic: string;
  encoding?: string;
}

export interface FlatPoint {
  resource: Record<string, unknown>;
  scope: string;
  name: string;
  unit: string;
  description: string;
  type: 'gauge' | 'sum';
  monotonic: boolean;
  temporality: number;
  value: number;
  timeUnixNano: bigint;
  startTimeUnixNano: bigint;
  attributes: Record<string, unknown>;
}

export interface FlatRecord {
  resource: Record<string, unknown>;
  scope: string;
  timeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: unknown;
  eventName: string;
  attributes: Record<string, unknown>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KV = { key: string; value: AnyValue };

function anyValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return v;
}

function attrs(list: KV[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function lines(file: string): any[] {
  if (!existsSync(file)) return [];
  // The last piece is a line the Collector is still writing (or '' after the final newline).
  const parts = readFileSync(file, 'utf8').split('\n');
  parts.pop();
  return parts.filter(Boolean).map((l) => JSON.parse(l));
}

export class Collector {
  private proc: Child | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-otelcol-'));
  // The file exporter truncates its file when it starts: each run writes its own pair of files.
  private runs = 0;
  metricsFile = join(this.dir, 'metrics-0.json');
  logsFile = join(this.dir, 'logs-0.json');
  port = 0;
  output = '';

  /** Port of the splunk_hec receiver (when `splunkHec` is on). */
  hecPort = 0;

  constructor(private readonly opts: { kafka?: KafkaReceiverOptions; otlp?: boolean; splunkHec?: boolean; tls?: OtlpReceiverTls } = {}) {}

  get endpoint(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** The splunk_hec receiver's base URL: HEC events and metrics on any path under it. */
  get hecEndpoint(): string {
    return `http://127.0.0.1:${this.hecPort}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (this.opts.splunkHec && !this.hecPort) this.hecPort = await freePort();
    this.runs++;
    this.metricsFile = join(this.dir, `metrics-${this.runs}.json`);
    this.logsFile = join(this.dir, `logs-${this.runs}.json`);
    const receivers: string[] = [];
    let recv = '';
    if (this.opts.otlp !== false) {
      receivers.push('otlp');
      recv += `  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:${this.port}\n`;
      const t = this.opts.tls;
      if (t) {
        recv += `        tls:\n          cert_file: ${t.cert_file}\n          key_file: ${t.key_file}\n` +
          (t.client_ca_file ? `          client_ca_file: ${t.client_ca_file}\n` : '');
      }
    }
    if (this.opts.kafka) {
      const k = this.opts.kafka;
      receivers.push('kafka');
      recv += `  kafka:\n    brokers: [${k.brokers.map((b) => JSON.stringify(b)).join(', ')}]\n` +
        // v0.155.0's kafka receiver takes `topics:` (a list); the older single `topic:` key is gone.
        `    metrics:\n      topics: [${k.metricsTopic}]\n      encoding: ${k.encoding ?? 'otlp_proto'}\n` +
        `    logs:\n      topics: [${k.logsTopic}]\n      encoding: ${k.encoding ?? 'otlp_proto'}\n` +
        `    initial_offset: earliest\n    group_id: ws2otel-test-${process.pid}-${this.port}\n`;
    }
    if (this.opts.splunkHec) {
      // A real HEC server: it takes HEC event and metric (`"event":"metric"`) JSON, maps host,
      // source, sourcetype and index to resource attributes and fields to attributes.
      receivers.push('splunk_hec');
      recv += `  splunk_hec:\n    endpoint: 127.0.0.1:${this.hecPort}\n`;
    }
    const config = `receivers:\n${recv}exporters:\n` +
      `  file/metrics:\n    path: ${this.metricsFile}\n    flush_interval: 10ms\n` +
      `  file/logs:\n    path: ${this.logsFile}\n    flush_interval: 10ms\n` +
      `service:\n  telemetry:\n    metrics:\n      level: none\n    logs:\n      level: info\n` +
      `  pipelines:\n    metrics:\n      receivers: [${receivers.join(', ')}]\n      exporters: [file/metrics]\n` +
      `    logs:\n      receivers: [${receivers.join(', ')}]\n      exporters: [file/logs]\n`;
    this.proc = await startOtelcol(this.dir, config, (d) => (this.output += d.toString()), () => this.output);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  private allLines(kind: 'metrics' | 'logs'): any[] {
    const out: any[] = [];
    for (let i = 1; i <= this.runs; i++) out.push(...lines(join(this.dir, `${kind}-${i}.json`)));
    return out;
  }

  points(): FlatPoint[] {
    const out: FlatPoint[] = [];
    for (const req of this.allLines('metrics')) {
      for (const rm of req.resourceMetrics ?? []) {
        const resource = attrs(rm.resource?.attributes);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const body = m.gauge ?? m.sum;
            for (const dp of body?.dataPoints ?? []) {
              out.push({
                resource, scope: sm.scope?.name ?? '', name: m.name, unit: m.unit ?? '', description: m.description ?? '',
                type: m.gauge ? 'gauge' : 'sum', monotonic: !!m.sum?.isMonotonic, temporality: m.sum?.aggregationTemporality ?? 0,
                value: dp.asDouble !== undefined ? Number(dp.asDouble) : Number(dp.asInt),
                timeUnixNano: BigInt(dp.timeUnixNano ?? 0), startTimeUnixNano: BigInt(dp.startTimeUnixNano ?? 0),
                attributes: attrs(dp.attributes),
              });
            }
          }
        }
      }
    }
    return out;
  }

  records(): FlatRecord[] {
    const out: FlatRecord[] = [];
    for (const req of this.allLines('logs')) {
      for (const rl of req.resourceLogs ?? []) {
        const resource = attrs(rl.resource?.attributes);
        for (const sl of rl.scopeLogs ?? []) {
          for (const r of sl.logRecords ?? []) {
            out.push({
              resource, scope: sl.scope?.name ?? '', timeUnixNano: BigInt(r.timeUnixNano ?? 0),
              severityNumber: r.severityNumber ?? 0, severityText: r.severityText ?? '', body: anyValue(r.body),
              eventName: r.eventName ?? '', attributes: attrs(r.attributes),
            });
          }
        }
      }
    }
    return out;
  }
}
