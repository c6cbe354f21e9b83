import { pino } from 'pino';
import type { Emitter, Envelope, LogRecord, MetricPoint } from '../../src/model.js';
import { selfMetrics } from '../../src/telemetry/metrics.js';
import { validateComponent, type ComponentSpec } from '../../src/config/component.js';

// The in-process rig every source and pipeline test shares: an emitter that keeps what it is given, a
// silent logger, the self-metric reader, and source configs made by the real schema.

export const silentLog = pino({ level: 'silent' });

/** The scope of what a source says about itself (src/sources/protocol_source.ts), not about its vendor. */
const OWN_SCOPE = 'ws2otel/source';

type WithResource<T> = T & { resource: Envelope['resource'] };

/** An Emitter that keeps what it gets; `accept = false` makes it ask the source to pause. */
export class CaptureEmitter implements Emitter {
  readonly envelopes: Envelope[] = [];
  accept = true;
  private drain: (() => void)[] = [];

  emit(envelope: Envelope): boolean {
    this.envelopes.push(envelope);
    return this.accept;
  }

  onDrain(listener: () => void): void {
    this.drain.push(listener);
  }

  release(): void {
    this.accept = true;
    const l = this.drain;
    this.drain = [];
    for (const f of l) f();
  }

  /** The vendor's data emitted so far: every envelope but the source's own up gauge and gap records. */
  data(): Envelope[] {
    return this.envelopes.filter((e) => e.scope.name !== OWN_SCOPE);
  }

  /** The source's own signals (`ws2otel.source.up`, `ws2otel.source.gap`) emitted so far. */
  health(): Envelope[] {
    return this.envelopes.filter((e) => e.scope.name === OWN_SCOPE);
  }

  /** Every vendor metric point emitted so far, with its envelope's resource (the up gauge: `health()`). */
  points(): WithResource<MetricPoint>[] {
    return this.data().flatMap((e) => e.metrics.map((m) => ({ ...m, resource: e.resource })));
  }

  /** Every vendor log record emitted so far, with its envelope's resource (gap records: `health()`). */
  records(): WithResource<LogRecord>[] {
    return this.data().flatMap((e) => e.logs.map((r) => ({ ...r, resource: e.resource })));
  }
}

type MetricName = keyof typeof selfMetrics;

/** Current value of a self-metric, summed over the series matching the labels (histogram buckets left out). */
export async function selfMetric(name: MetricName, labels: Record<string, string> = {}): Promise<number> {
  const m = (await selfMetrics[name].get()) as { values: { labels: Record<string, string | number>; value: number; metricName?: string }[] };
  return m.values
    .filter((v) => !v.metricName || !/_(bucket|sum|count)$/.test(v.metricName))
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0);
}

/** Current value of a metric family from any registry (a test's own), summed over the series matching the labels. */
export async function metricValue(metric: { get(): Promise<unknown> }, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metric.get()) as { values: { labels: Record<string, string | number>; value: number }[] };
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** How many series of a metric family match the labels (a bound on label growth). */
export async function seriesCount(metric: { get(): Promise<unknown> }, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metric.get()) as { values: { labels: Record<string, string | number> }[] };
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).length;
}

let configs = 0;

/**
 * A source config as the daemon would build it: `raw` validated by the component's real schema, its
 * defaults filled in, secrets resolved. Names are unique per call (self-metrics are per source name)
 * and reconnects fast, unless `raw` says otherwise.
 */
export function sourceConfig<C>(spec: ComponentSpec<C>, raw: Record<string, unknown>): C {
  const { config, problems } = validateComponent<C>(spec, {
    name: `${spec.type}-test-${process.pid}-${++configs}`,
    type: spec.type,
    reconnect: { initial_interval: '50ms', max_interval: '300ms' },
    ...raw,
  }, 'sources[0]');
  if (!config || problems.length) throw new Error(problems.join('\n'));
  return config;
}
