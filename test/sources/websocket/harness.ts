import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Envelope, Emitter, LogRecord, MetricPoint } from '../../../src/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { selfMetrics } from '../../../src/telemetry/metrics.js';
import { WebSocketSource } from '../../../src/sources/websocket/source.js';
import type { WebSocketConfig } from '../../../src/sources/websocket/config.js';

// In-process helpers for the websocket source's tests: build a source from config, collect what it emits.

export const EXAMPLE = fileURLToPath(new URL('../../../../config/examples/websocket.yaml', import.meta.url));

/** The example config (Mist through the generic source), validated as the daemon would, under `name`. */
export function exampleConfig(env: NodeJS.ProcessEnv, name: string): WebSocketConfig {
  const cfg = loadConfig(EXAMPLE, env).sources[0]!.config as WebSocketConfig;
  // The auth schedule scaled down as the reconnects are (its real default is a minute).
  return { ...cfg, name, reconnect: { initial_interval: 50, max_interval: 200 }, auth_retry: { initial_interval: 50, max_interval: 200 } };
}

export class Capture implements Emitter {
  readonly envelopes: Envelope[] = [];
  emit(e: Envelope): boolean {
    this.envelopes.push(e);
    return true;
  }
  onDrain(): void {}
  points(): (MetricPoint & { resource: Envelope['resource'] })[] {
    return this.envelopes.flatMap((e) => e.metrics.map((m) => ({ ...m, resource: e.resource })));
  }
  records(): (LogRecord & { resource: Envelope['resource'] })[] {
    return this.envelopes.flatMap((e) => e.logs.map((r) => ({ ...r, resource: e.resource })));
  }
}

export function makeSource(cfg: WebSocketConfig): { source: WebSocketSource; capture: Capture } {
  const capture = new Capture();
  const source = new WebSocketSource(cfg, { emitter: capture, log: pino({ level: 'silent' }) });
  return { source, capture };
}

export async function rejected(source: string, reason: string): Promise<number> {
  const m = await selfMetrics.framesRejected.get();
  return m.values.find((v) => v.labels.source === source && v.labels.reason === reason)?.value ?? 0;
}

export async function authFailures(source: string): Promise<number> {
  const m = await selfMetrics.authFailures.get();
  return m.values.find((v) => v.labels.source === source)?.value ?? 0;
}
