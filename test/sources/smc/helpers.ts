import { pino } from 'pino';
import type { Envelope } from '../../../src/model.js';
import { validateComponent } from '../../../src/config/component.js';
import { selfMetrics } from '../../../src/telemetry/metrics.js';
import { smcSource, type SmcSource } from '../../../src/sources/smc/source.js';
import type { SmcConfig } from '../../../src/sources/smc/config.js';

let n = 0;

/** A validated `type: smc` config (defaults filled by the real schema) with fast reconnects and the shortest valid auth schedule. */
export function smcConfig(raw: Record<string, unknown>): SmcConfig {
  const { config, problems } = validateComponent(smcSource, {
    name: `smc-test-${process.pid}-${++n}`,
    type: 'smc',
    reconnect: { initial_interval: '50ms', max_interval: '300ms' },
    auth_retry: { initial_interval: '1s', max_interval: '1s' },
    ...raw,
  }, 'sources[0]');
  if (!config || problems.length) throw new Error(problems.join('\n'));
  return config;
}

export class Collect {
  readonly envelopes: Envelope[] = [];
  emit = (e: Envelope): boolean => {
    this.envelopes.push(e);
    return true;
  };
  onDrain(): void {}
  get records() {
    return this.envelopes.flatMap((e) => e.logs.map((r) => ({ resource: e.resource, ...r })));
  }
  get points() {
    return this.envelopes.flatMap((e) => e.metrics.map((p) => ({ resource: e.resource, ...p })));
  }
}

export function makeSource(raw: Record<string, unknown>): { source: SmcSource; out: Collect; cfg: SmcConfig } {
  const cfg = smcConfig(raw);
  const out = new Collect();
  const source = smcSource.create(cfg, { emitter: out, log: pino({ level: process.env.SMC_TEST_LOG ?? 'silent' }) }) as SmcSource;
  return { source, out, cfg };
}

/** Current value of a self-metric series. */
export async function metric(m: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

export { selfMetrics };
