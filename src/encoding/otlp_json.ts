import type { AttrValue, Attributes, Envelope } from '../model.js';
import { msToNanos } from './protobuf.js';
import { groupByMetric } from './metric_groups.js';

// One envelope → the OTLP JSON text of one ResourceMetrics (or ResourceLogs) element, as the SDK's JSON
// serializer writes it (times as decimal strings, enums as numbers). A batch is those texts joined by
// commas inside `{"resourceMetrics":[…]}`, so nothing is parsed or stringified again per batch.

const INT64 = 2 ** 63;

function anyValue(v: AttrValue): Record<string, AttrValue> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) && Math.abs(v) < INT64 ? { intValue: v } : { doubleValue: v };
}

function attributes(a: Attributes): { key: string; value: Record<string, AttrValue> }[] {
  const out = [];
  for (const k in a) out.push({ key: k, value: anyValue(a[k]!) });
  return out;
}

function resourceAndScope(env: Envelope) {
  return {
    resource: { attributes: attributes(env.resource), droppedAttributesCount: 0 },
    scope: { name: env.scope.name, version: env.scope.version },
  };
}

const ns = (ms: number) => msToNanos(ms).toString();

/** The envelope's points as one ResourceMetrics in OTLP JSON; '' when it has none. */
export function metricsElementJson(env: Envelope): string {
  if (env.metrics.length === 0) return '';
  const pts = env.metrics;
  const { resource, scope } = resourceAndScope(env);
  const metrics = groupByMetric(pts).map((g) => {
    const d = pts.desc[g[0]!]!;
    const int = pts.isInt(g[0]!);
    const dataPoints = g.map((i) => ({
      attributes: attributes(pts.attributes[i]!),
      startTimeUnixNano: ns(d.kind === 'gauge' ? pts.timeMs[i]! : pts.startTimeMs[i]!),
      timeUnixNano: ns(pts.timeMs[i]!),
      ...(int ? { asInt: pts.value[i]! } : { asDouble: pts.value[i]! }),
    }));
    const data = d.kind === 'gauge' ? { gauge: { dataPoints } } : { sum: { dataPoints, aggregationTemporality: 2, isMonotonic: d.kind === 'counter' } };
    return { name: d.name, description: d.description, unit: d.unit, ...data };
  });
  return JSON.stringify({ resource, scopeMetrics: [{ scope, metrics }] });
}

/** The envelope's records as one ResourceLogs in OTLP JSON; '' when it has none. */
export function logsElementJson(env: Envelope): string {
  if (env.logs.length === 0) return '';
  const { resource, scope } = resourceAndScope(env);
  const logRecords = env.logs.map((r) => ({
    timeUnixNano: ns(r.timeMs),
    observedTimeUnixNano: ns(r.observedMs),
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: { stringValue: r.body },
    attributes: attributes(r.attributes),
    droppedAttributesCount: 0,
    ...(r.eventName ? { eventName: r.eventName } : {}),
  }));
  return JSON.stringify({ resource, scopeLogs: [{ scope, logRecords }] });
}
