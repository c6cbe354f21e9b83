import { afterEach } from 'node:test';
import { pino } from 'pino';
import { Points, type Emitter, type Envelope, type LogRecord, type MetricPoint } from '../../src/model.js';
import { selfMetrics } from '../../src/telemetry/metrics.js';
import { validateComponent, type ComponentSpec } from '../../src/config/component.js';
import type { Codec } from '../../src/encoding/codec.js';
import type { Item } from '../../src/pipeline/buffer.js';
import { ExportRequest } from '../../src/pipeline/request.js';

// The in-process rig every source and pipeline test shares: an emitter that keeps what it is given, a
// silent logger, the self-metric reader, source configs made by the real schema, and a source run
// against a simulator.

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
    return this.data().flatMap((e) => e.metrics.toArray().map((m) => ({ ...m, resource: e.resource })));
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

/**
 * The wire form of the pipeline tests' recording sinks: the envelope as JSON, so a test reads back
 * exactly what it offered. Real sinks have their own codecs (src/encoding), tested against their peers.
 */
export const envelopeCodec: Codec = {
  name: 'envelope_json',
  encode: (env) => Buffer.from(JSON.stringify(env)),
  readable: (bytes) => JSON.parse(bytes.toString('utf8')) as unknown,
};

/** An envelope as a sink's buffer holds it: encoded by `codec` (the envelope JSON codec by default). */
export function itemOf(env: Envelope, codec: Codec = envelopeCodec): Item {
  return { bytes: codec.encode(env), receivedMs: env.receivedMs };
}

/** An item of the envelope JSON codec, read back. */
export function envelopeOf(item: Item): Envelope {
  const env = envelopeCodec.readable(item.bytes) as Omit<Envelope, 'metrics'> & { metrics: MetricPoint[] };
  return { ...env, metrics: Points.of(env.metrics) };
}

/** A request of these envelopes as the pipeline hands it to `sink`: each encoded once by the sink's codec. */
export function requestOf(sink: { codec: Codec }, envelopes: readonly Envelope[]): ExportRequest {
  return new ExportRequest(envelopes.map((e) => itemOf(e, sink.codec)));
}

/** Sends these envelopes through `sink` as one request, each encoded once by the sink's codec. */
export function sendEnvelopes(sink: { codec: Codec; send(req: ExportRequest, signal: AbortSignal): Promise<void> }, envelopes: readonly Envelope[], signal = new AbortController().signal): Promise<void> {
  return sink.send(requestOf(sink, envelopes), signal);
}

/** A source under test and the simulator it talks to, as one test started them. */
export interface SourceRig<Sim, Src> {
  /** This test's simulator, once served. */
  sim: Sim | undefined;
  /** This test's source, once run; a test that stops it itself sets it back to undefined. */
  source: Src | undefined;
  /** Starts `sim` as this test's simulator. */
  serve(sim: Sim): Promise<Sim>;
  /** Starts `source` as this test's source. */
  run(source: Src): Src;
}

/**
 * Registers, in the current `describe`, the stop of what each test started against a simulator: the
 * source first (it may still talk to the simulator as it stops), then the simulator.
 */
export function sourceRig<Sim extends { start(): Promise<unknown>; stop(): Promise<void> }, Src extends { start(): void; stop(): Promise<void> }>(): SourceRig<Sim, Src> {
  const rig: SourceRig<Sim, Src> = {
    sim: undefined,
    source: undefined,
    async serve(sim) {
      rig.sim = sim;
      await sim.start();
      return sim;
    },
    run(source) {
      rig.source = source;
      source.start();
      return source;
    },
  };
  afterEach(async () => {
    await rig.source?.stop();
    await rig.sim?.stop();
    rig.source = undefined;
    rig.sim = undefined;
  });
  return rig;
}
