import { ProtobufMetricsSerializer, JsonMetricsSerializer, ProtobufLogsSerializer, JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ValueType, type HrTime } from '@opentelemetry/api';
import type { Attributes, Envelope, MetricPoint } from '../model.js';

// Envelopes → OTLP export requests, through the official serializers of @opentelemetry/otlp-transformer.
// The SDK's *data* types are only the serializers' input shape here: no MeterProvider aggregates
// our samples, so every vendor sample reaches the wire as its own point with its own timestamp.

export type OtlpFormat = 'proto' | 'json';

export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

function resourceKey(attrs: Attributes): string {
  return JSON.stringify(attrs);
}

interface Grouped {
  resource: Resource;
  /** Per scope: its metrics in order of first appearance, and by name (the few of a name differ in kind, unit or int). */
  scopes: Map<string, { scope: { name: string; version: string }; metrics: MetricData[]; byName: Map<string, MetricData[]> }>;
}

function sameMetric(md: MetricData, p: MetricPoint): boolean {
  const kind = md.dataPointType === DataPointType.GAUGE ? 'gauge' : (md as { isMonotonic?: boolean }).isMonotonic ? 'counter' : 'updown';
  return kind === p.kind && md.descriptor.unit === p.unit && (md.descriptor.valueType === ValueType.INT) === p.int;
}

function metricData(p: MetricPoint): MetricData {
  const descriptor = { name: p.name, description: p.description, unit: p.unit, valueType: p.int ? ValueType.INT : ValueType.DOUBLE };
  if (p.kind === 'gauge') {
    return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [] };
  }
  return {
    descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM,
    isMonotonic: p.kind === 'counter', dataPoints: [],
  };
}

/** Groups a batch by resource, scope and metric: one ResourceMetrics per resource, points in arrival order. */
export function toResourceMetrics(batch: readonly Envelope[]): ResourceMetrics[] {
  const byResource = new Map<string, Grouped>();
  // The points of one frame share their times: convert each distinct time once.
  let lastMs = NaN;
  let lastHr: HrTime = [0, 0];
  const hr = (ms: number): HrTime => (ms === lastMs ? lastHr : ((lastMs = ms), (lastHr = hrTime(ms))));
  let lastStartMs = NaN;
  let lastStartHr: HrTime = [0, 0];
  const hrStart = (ms: number): HrTime => (ms === lastStartMs ? lastStartHr : ((lastStartMs = ms), (lastStartHr = hrTime(ms))));
  for (const env of batch) {
    if (env.metrics.length === 0) continue;
    const rk = resourceKey(env.resource);
    let g = byResource.get(rk);
    if (!g) byResource.set(rk, (g = { resource: resourceFromAttributes(env.resource), scopes: new Map() }));
    let s = g.scopes.get(env.scope.name);
    if (!s) g.scopes.set(env.scope.name, (s = { scope: env.scope, metrics: [], byName: new Map() }));
    for (const p of env.metrics) {
      let named = s.byName.get(p.name);
      if (!named) s.byName.set(p.name, (named = []));
      let md = named.length === 1 && sameMetric(named[0]!, p) ? named[0] : named.find((m) => sameMetric(m, p));
      if (!md) {
        named.push((md = metricData(p)));
        s.metrics.push(md);
      }
      (md.dataPoints as unknown[]).push({
        startTime: p.kind === 'gauge' ? hr(p.timeMs) : hrStart(p.startTimeMs),
        endTime: hr(p.timeMs),
        attributes: p.attributes,
        value: p.value,
      });
    }
  }
  return [...byResource.values()].map((g) => ({
    resource: g.resource,
    scopeMetrics: [...g.scopes.values()].map((s) => ({ scope: s.scope, metrics: s.metrics })),
  }));
}

export function toLogRecords(batch: readonly Envelope[]): ReadableLogRecord[] {
  const resources = new Map<string, Resource>();
  const out: ReadableLogRecord[] = [];
  for (const env of batch) {
    if (env.logs.length === 0) continue;
    const rk = resourceKey(env.resource);
    let resource = resources.get(rk);
    if (!resource) resources.set(rk, (resource = resourceFromAttributes(env.resource)));
    for (const r of env.logs) {
      out.push({
        hrTime: hrTime(r.timeMs),
        hrTimeObserved: hrTime(r.observedMs),
        severityNumber: r.severityNumber,
        severityText: r.severityText,
        body: r.body,
        ...(r.eventName ? { eventName: r.eventName } : {}),
        resource,
        instrumentationScope: env.scope,
        attributes: r.attributes,
        droppedAttributesCount: 0,
      });
    }
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One ExportMetricsServiceRequest for the batch, or undefined when it holds no points. */
export function encodeMetrics(batch: readonly Envelope[], format: OtlpFormat): Uint8Array | undefined {
  const rms = toResourceMetrics(batch);
  if (rms.length === 0) return undefined;
  if (format === 'proto') {
    // The serializer takes one resource; a request's only field is `repeated ResourceMetrics`, and
    // concatenated protobuf messages merge by appending repeated fields, so the parts join as one request.
    const parts = rms.map((rm) => ProtobufMetricsSerializer.serializeRequest(rm)!);
    if (parts.length === 1) return parts[0];
    return Buffer.concat(parts);
  }
  const resourceMetrics = rms.flatMap((rm) => (JSON.parse(dec.decode(JsonMetricsSerializer.serializeRequest(rm)!)) as { resourceMetrics: unknown[] }).resourceMetrics);
  return enc.encode(JSON.stringify({ resourceMetrics }));
}

/** One ExportLogsServiceRequest for the batch, or undefined when it holds no records. */
export function encodeLogs(batch: readonly Envelope[], format: OtlpFormat): Uint8Array | undefined {
  const records = toLogRecords(batch);
  if (records.length === 0) return undefined;
  return (format === 'proto' ? ProtobufLogsSerializer : JsonLogsSerializer).serializeRequest(records);
}
