import type { Attributes, Envelope, LogRecord, MetricPoint } from '../model.js';

// One flat JSON object per metric point or log record, resource and attributes inlined as top-level
// keys under their own names: what Splunk Connect for Kafka (HEC JSON events) and ksqlDB (a JSON
// stream whose columns are the keys) consume without an OTLP decoder.
//
// Fixed fields come first and are never overwritten: an attribute whose name collides with a fixed
// field or with a resource attribute of the same name is written as `attr.<name>`.

export type FlatObject = Record<string, string | number | boolean>;

const METRIC_FIELDS = ['signal', 'timestamp', 'time_unix_nano', 'name', 'unit', 'type', 'value', 'start_timestamp', 'scope'] as const;
const LOG_FIELDS = ['signal', 'timestamp', 'time_unix_nano', 'observed_timestamp', 'severity_number', 'severity_text', 'body', 'event_name', 'scope'] as const;

/** Epoch ms (maybe fractional, Mist has microseconds) → exact nanoseconds as a decimal string. */
export function unixNanoString(ms: number): string {
  const whole = Math.floor(ms);
  const ns = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(ns)).toString();
}

function inline(out: FlatObject, reserved: readonly string[], resource: Attributes, attrs: Attributes): void {
  for (const k in resource) {
    out[reserved.includes(k) ? `resource.${k}` : k] = resource[k]!;
  }
  for (const k in attrs) {
    out[reserved.includes(k) || k in out ? `attr.${k}` : k] = attrs[k]!;
  }
}

export function flatPoint(env: Envelope, p: MetricPoint): FlatObject {
  const out: FlatObject = {
    signal: 'metric',
    timestamp: Math.floor(p.timeMs),
    time_unix_nano: unixNanoString(p.timeMs),
    name: p.name,
    unit: p.unit,
    type: p.kind,
    value: p.value,
  };
  if (p.kind !== 'gauge') out.start_timestamp = Math.floor(p.startTimeMs);
  out.scope = env.scope.name;
  inline(out, METRIC_FIELDS, env.resource, p.attributes);
  return out;
}

export function flatRecord(env: Envelope, r: LogRecord): FlatObject {
  const out: FlatObject = {
    signal: 'log',
    timestamp: Math.floor(r.timeMs),
    time_unix_nano: unixNanoString(r.timeMs),
    observed_timestamp: Math.floor(r.observedMs),
    severity_number: r.severityNumber,
    severity_text: r.severityText,
    body: r.body,
  };
  if (r.eventName) out.event_name = r.eventName;
  out.scope = env.scope.name;
  inline(out, LOG_FIELDS, env.resource, r.attributes);
  return out;
}

/** The envelope's points, one JSON document a line (JSON text never holds a raw newline); '' without points. */
export function flatMetricLines(env: Envelope): string {
  const lines: string[] = [];
  for (const p of env.metrics) lines.push(JSON.stringify(flatPoint(env, p)));
  return lines.join('\n');
}

/** The envelope's log records, one JSON document a line; '' without records. */
export function flatLogLines(env: Envelope): string {
  return env.logs.map((r) => JSON.stringify(flatRecord(env, r))).join('\n');
}
