import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ValueType, type HrTime } from '@opentelemetry/api';
import type { Attributes, Envelope, MetricPoint } from '../../src/model.js';

// OTLP as an independent party reads it: protobufjs over the upstream field numbers
// (test/fixtures/otlp/otlp_subset.proto), flattened to one row per point or record, so tests can
// compare ws2otel's bytes with what the envelopes say and with the official SDK serializer's output
// (the encoding ws2otel used before it wrote protobuf itself: `referenceMetrics`, `referenceLogs`).

const root = protobuf.parse(readFileSync(new URL('../../../test/fixtures/otlp/otlp_subset.proto', import.meta.url), 'utf8'), { keepCase: false }).root;
const MetricsRequest = root.lookupType('otlp.ExportMetricsServiceRequest');
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const toObject = { longs: String, defaults: true, oneofs: true } as const;

type Any = { stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number; value?: string };
type KV = { key: string; value: Any };

function anyValue(v: Any): unknown {
  switch (v.value) {
    case 'stringValue': return v.stringValue;
    case 'boolValue': return v.boolValue;
    case 'intValue': return Number(v.intValue);
    case 'doubleValue': return v.doubleValue;
    default: return undefined;
  }
}

const attrs = (kvs: KV[]) => Object.fromEntries(kvs.map((kv) => [kv.key, anyValue(kv.value)]));

export interface PointRow {
  resource: Record<string, unknown>;
  scope: string;
  name: string;
  unit: string;
  description: string;
  kind: string;
  int: boolean;
  value: number;
  timeUnixNano: string;
  startTimeUnixNano: string;
  attributes: Record<string, unknown>;
}

/** Every data point of an ExportMetricsServiceRequest, in order, with its resource, scope and metric. */
export function decodeMetricPoints(body: Uint8Array): PointRow[] {
  const req = MetricsRequest.toObject(MetricsRequest.decode(body), toObject) as any;
  const out: PointRow[] = [];
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const kind = m.data === 'gauge' ? 'gauge' : m.sum.isMonotonic ? 'counter' : 'updown';
        for (const dp of m[m.data].dataPoints) {
          out.push({
            resource: attrs(rm.resource.attributes), scope: `${sm.scope.name}@${sm.scope.version}`, name: m.name, unit: m.unit, description: m.description,
            kind, int: dp.value === 'asInt', value: dp.value === 'asInt' ? Number(dp.asInt) : dp.asDouble,
            timeUnixNano: dp.timeUnixNano, startTimeUnixNano: dp.startTimeUnixNano, attributes: attrs(dp.attributes),
          });
        }
      }
    }
  }
  return out;
}

/** Each Metric of a request, in order: name, unit, kind and how many points it holds (the grouping, not the points). */
export function decodeMetricShapes(body: Uint8Array): string[] {
  const req = MetricsRequest.toObject(MetricsRequest.decode(body), toObject) as any;
  const out: string[] = [];
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) out.push(`${m.name} ${m.unit} ${m.data} ${m[m.data].dataPoints.length}`);
    }
  }
  return out;
}

export interface RecordRow {
  resource: Record<string, unknown>;
  scope: string;
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: unknown;
  eventName: string;
  attributes: Record<string, unknown>;
}

/** Every log record of an ExportLogsServiceRequest, in order, with its resource and scope. */
export function decodeLogRecords(body: Uint8Array): RecordRow[] {
  const req = LogsRequest.toObject(LogsRequest.decode(body), toObject) as any;
  const out: RecordRow[] = [];
  for (const rl of req.resourceLogs) {
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        out.push({
          resource: attrs(rl.resource.attributes), scope: `${sl.scope.name}@${sl.scope.version}`, timeUnixNano: r.timeUnixNano,
          observedTimeUnixNano: r.observedTimeUnixNano, severityNumber: r.severityNumber, severityText: r.severityText,
          body: anyValue(r.body), eventName: r.eventName, attributes: attrs(r.attributes),
        });
      }
    }
  }
  return out;
}

/** Sorts rows into a canonical order, for comparing encodings that group points differently. */
export function canonical<T>(rows: T[]): T[] {
  return rows.map((r) => JSON.stringify(r)).sort().map((s) => JSON.parse(s) as T);
}

// ---- The reference: the official SDK serializers, fed as ws2otel fed them before encode-once ----

function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

function metricData(p: MetricPoint): MetricData {
  const descriptor = { name: p.name, description: p.description, unit: p.unit, valueType: p.int ? ValueType.INT : ValueType.DOUBLE };
  const base = { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [] };
  return p.kind === 'gauge' ? { ...base, dataPointType: DataPointType.GAUGE } : { ...base, dataPointType: DataPointType.SUM, isMonotonic: p.kind === 'counter' };
}

/** The envelopes through @opentelemetry/otlp-transformer's ProtobufMetricsSerializer, one request per envelope, concatenated. */
export function referenceMetrics(envs: readonly Envelope[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const env of envs) {
    if (!env.metrics.length) continue;
    const metrics: MetricData[] = [];
    for (const p of env.metrics) {
      let md = metrics.find((m) => m.descriptor.name === p.name && m.descriptor.unit === p.unit && (m.descriptor.valueType === ValueType.INT) === p.int
        && (m.dataPointType === DataPointType.GAUGE ? 'gauge' : (m as { isMonotonic?: boolean }).isMonotonic ? 'counter' : 'updown') === p.kind);
      if (!md) metrics.push((md = metricData(p)));
      (md.dataPoints as unknown[]).push({ startTime: hrTime(p.kind === 'gauge' ? p.timeMs : p.startTimeMs), endTime: hrTime(p.timeMs), attributes: p.attributes, value: p.value });
    }
    const rm: ResourceMetrics = { resource: resourceFromAttributes(env.resource), scopeMetrics: [{ scope: env.scope, metrics }] };
    parts.push(ProtobufMetricsSerializer.serializeRequest(rm)!);
  }
  return Buffer.concat(parts);
}

/** The envelopes' records through ProtobufLogsSerializer. */
export function referenceLogs(envs: readonly Envelope[]): Buffer {
  const records: ReadableLogRecord[] = [];
  for (const env of envs) {
    const resource = resourceFromAttributes(env.resource);
    for (const r of env.logs) {
      records.push({
        hrTime: hrTime(r.timeMs), hrTimeObserved: hrTime(r.observedMs), severityNumber: r.severityNumber, severityText: r.severityText, body: r.body,
        ...(r.eventName ? { eventName: r.eventName } : {}), resource, instrumentationScope: env.scope, attributes: r.attributes, droppedAttributesCount: 0,
      });
    }
  }
  return Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
}

/** What the envelopes say, as rows (times from epoch ms as the SDK rounds them). */
export function envelopePoints(envs: readonly Envelope[]): PointRow[] {
  const ns = (ms: number) => { const [s, n] = hrTime(ms); return (BigInt(s) * 1_000_000_000n + BigInt(n)).toString(); };
  return envs.flatMap((e) => e.metrics.toArray().map((p) => ({
    resource: { ...e.resource } as Attributes, scope: `${e.scope.name}@${e.scope.version}`, name: p.name, unit: p.unit, description: p.description, kind: p.kind, int: p.int,
    value: p.value, timeUnixNano: ns(p.timeMs), startTimeUnixNano: ns(p.kind === 'gauge' ? p.timeMs : p.startTimeMs), attributes: { ...p.attributes },
  })));
}

/** The OTLP JSON form's points as the same rows decodeMetricPoints makes. */
export function jsonPoints(body: Buffer | undefined): PointRow[] {
  if (!body) return [];
  const any = (v: Record<string, unknown>) => ('intValue' in v ? Number(v.intValue) : Object.values(v)[0]);
  const attrs = (kvs: { key: string; value: Record<string, unknown> }[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, any(kv.value)]));
  const out: PointRow[] = [];
  for (const rm of (JSON.parse(body.toString()) as any).resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const data = m.gauge ?? m.sum;
        const kind = m.gauge ? 'gauge' : m.sum.isMonotonic ? 'counter' : 'updown';
        for (const dp of data.dataPoints) {
          out.push({
            resource: attrs(rm.resource.attributes), scope: `${sm.scope.name}@${sm.scope.version ?? ''}`, name: m.name, unit: m.unit ?? '', description: m.description ?? '', kind,
            int: 'asInt' in dp, value: Number(dp.asInt ?? dp.asDouble), timeUnixNano: dp.timeUnixNano, startTimeUnixNano: dp.startTimeUnixNano, attributes: attrs(dp.attributes),
          });
        }
      }
    }
  }
  return out;
}
