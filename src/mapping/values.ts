import type { Attributes, Envelope, LogRecord, MetricPoint } from '../model.js';

// What a sink will accept. A hostile or broken vendor frame can hold any JSON number (1e999 parses to
// Infinity, 1e20 does not fit an int64, -5 is not a time); one such value made the Collector refuse the
// whole batch (400) or, in protobuf, arrive silently wrong. Every envelope passes here before the
// pipeline: bad values are dropped or replaced and counted by reason, never sent.

/** Per-frame caps: no single frame may stall the other sources (README: `limits`). */
export interface FrameLimits {
  points_per_frame: number;
  records_per_frame: number;
  envelopes_per_frame: number;
  attributes_per_record: number;
}

export const DEFAULT_LIMITS: FrameLimits = {
  // A Mist AP frame is ~35 points, an NX-API snapshot of 1,000 interfaces ~13,000.
  points_per_frame: 20_000,
  records_per_frame: 10_000,
  envelopes_per_frame: 1_000,
  // The OpenTelemetry SDKs' default attribute count limit.
  attributes_per_record: 128,
};

/** 2000-01-01T00:00:00Z: no vendor stream ws2otel reads predates it; earlier means a broken clock or field. */
export const EARLIEST_MS = 946_684_800_000;
/** More than a day ahead of arrival is a broken clock or field, not a time zone. */
export const AHEAD_MS = 24 * 3600 * 1000;
/** OTLP's as_int is int64: beyond it a value is sent as a double (exact enough, never wrapped). */
const INT64_LIMIT = 2 ** 63;

export type ValueReason = 'non_finite' | 'negative_counter' | 'bad_timestamp';

/** A time that a sink will take and a reader will believe: finite, not before 2000, at most a day ahead. */
export function plausibleTime(ms: number, receivedMs: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= receivedMs + AHEAD_MS;
}

/** Attribute values a sink takes: finite numbers; integers past 2^53 as text (an int64 field would wrap or be refused). */
function cleanAttributes(attrs: Attributes, max: number, count: (r: ValueReason) => void): { attrs: Attributes; cut: boolean } {
  let out: Attributes | undefined;
  let n = 0;
  let cut = false;
  for (const k in attrs) {
    const v = attrs[k]!;
    if (n >= max) {
      cut = true;
      out ??= copyUpTo(attrs, k);
      break;
    }
    n++;
    if (typeof v !== 'number' || Number.isSafeInteger(v) || (Number.isFinite(v) && !Number.isInteger(v))) {
      if (out) out[k] = v;
      continue;
    }
    out ??= copyUpTo(attrs, k);
    if (Number.isFinite(v)) out[k] = String(v);
    else count('non_finite');
  }
  return { attrs: out ?? attrs, cut };
}

function copyUpTo(attrs: Attributes, stop: string): Attributes {
  const out: Attributes = {};
  for (const k in attrs) {
    if (k === stop) break;
    out[k] = attrs[k]!;
  }
  return out;
}

export interface Verdict {
  /** Values dropped or replaced, by reason (counted per point or record). */
  values: Map<ValueReason, number>;
  /** Caps this envelope hit (each counted once per frame). */
  cut: Set<'too_many_points' | 'too_many_records' | 'too_many_attributes' | 'too_many_envelopes'>;
}

function point(p: MetricPoint, receivedMs: number, attrMax: number, v: Verdict, count: (r: ValueReason) => void): MetricPoint | undefined {
  if (!Number.isFinite(p.value)) return void count('non_finite');
  if (p.kind === 'counter' && p.value < 0) return void count('negative_counter');
  let out = p;
  const copy = () => (out === p ? (out = { ...p }) : out);
  if (!plausibleTime(p.timeMs, receivedMs)) {
    count('bad_timestamp');
    copy().timeMs = receivedMs;
  }
  // A start after the sample, or not a time at all (a negative uptime, a huge one): the series starts now.
  if (!Number.isFinite(p.startTimeMs) || p.startTimeMs > out.timeMs || (p.startTimeMs < EARLIEST_MS && p.kind !== 'gauge')) {
    if (p.kind !== 'gauge') count('bad_timestamp');
    copy().startTimeMs = out.timeMs;
  } else if (p.startTimeMs < EARLIEST_MS) {
    copy().startTimeMs = out.timeMs; // gauges ignore their start time; keep it valid anyway
  }
  // The encoder groups points by name, kind, unit and int: a point made a double joins the double series.
  if (p.int && (!Number.isInteger(p.value) || Math.abs(p.value) >= INT64_LIMIT)) copy().int = false;
  const a = cleanAttributes(p.attributes, attrMax, count);
  if (a.attrs !== p.attributes) copy().attributes = a.attrs;
  if (a.cut) v.cut.add('too_many_attributes');
  return out;
}

function record(r: LogRecord, receivedMs: number, attrMax: number, v: Verdict, count: (r: ValueReason) => void): LogRecord {
  let out = r;
  const copy = () => (out === r ? (out = { ...r }) : out);
  if (!plausibleTime(r.timeMs, receivedMs)) {
    count('bad_timestamp');
    copy().timeMs = receivedMs;
  }
  if (!plausibleTime(r.observedMs, receivedMs)) copy().observedMs = receivedMs;
  const a = cleanAttributes(r.attributes, attrMax, count);
  if (a.attrs !== r.attributes) copy().attributes = a.attrs;
  if (a.cut) v.cut.add('too_many_attributes');
  return out;
}

/**
 * One envelope made fit for a sink, within what is left of its frame's budget. Returns the envelope to
 * emit (undefined when nothing in it survived) and, in `v`, what was dropped or cut.
 */
export function sanitizeEnvelope(env: Envelope, room: { points: number; records: number }, limits: FrameLimits, v: Verdict): Envelope | undefined {
  const count = (r: ValueReason) => v.values.set(r, (v.values.get(r) ?? 0) + 1);
  const now = env.receivedMs;
  let metrics: MetricPoint[] = env.metrics;
  let changed = false;
  if (metrics.length > room.points) {
    v.cut.add('too_many_points');
    metrics = metrics.slice(0, Math.max(0, room.points));
    changed = true;
  }
  const keptPoints: MetricPoint[] = [];
  for (const p of metrics) {
    const q = point(p, now, limits.attributes_per_record, v, count);
    if (q !== p) changed = true;
    if (q) keptPoints.push(q);
  }
  let logs: LogRecord[] = env.logs;
  if (logs.length > room.records) {
    v.cut.add('too_many_records');
    logs = logs.slice(0, Math.max(0, room.records));
    changed = true;
  }
  const keptLogs: LogRecord[] = [];
  for (const r of logs) {
    const q = record(r, now, limits.attributes_per_record, v, count);
    if (q !== r) changed = true;
    keptLogs.push(q);
  }
  const res = cleanAttributes(env.resource, limits.attributes_per_record, count);
  if (res.cut) v.cut.add('too_many_attributes');
  if (keptPoints.length === 0 && keptLogs.length === 0) return undefined;
  if (!changed && res.attrs === env.resource) return env;
  return { ...env, resource: res.attrs, metrics: keptPoints, logs: keptLogs };
}

/**
 * JSON text of a vendor value for a log body, at most `maxChars` long and `maxDepth` deep. Never throws:
 * JSON.stringify of a 10,000-deep array overflows the stack (a hostile frame killed a source that way).
 */
export function briefJson(v: unknown, maxChars = 4096, maxDepth = 16): string {
  const parts: string[] = [];
  let len = 0;
  const put = (s: string): boolean => {
    parts.push(s);
    len += s.length;
    return len < maxChars;
  };
  const walk = (x: unknown, depth: number): boolean => {
    if (x === null || typeof x === 'boolean') return put(String(x));
    if (typeof x === 'number') return put(Number.isFinite(x) ? String(x) : 'null');
    if (typeof x === 'string') return put(JSON.stringify(x.length > maxChars ? x.slice(0, maxChars) : x));
    if (typeof x !== 'object') return put('null');
    if (depth >= maxDepth) return put(Array.isArray(x) ? '[…]' : '{…}');
    if (Array.isArray(x)) {
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if ((i > 0 && !put(',')) || !walk(x[i], depth + 1)) return false;
      }
      return put(']');
    }
    if (!put('{')) return false;
    let first = true;
    for (const k in x as Record<string, unknown>) {
      if ((!first && !put(',')) || !put(`${JSON.stringify(k.length > maxChars ? k.slice(0, maxChars) : k)}:`)) return false;
      first = false;
      if (!walk((x as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return put('}');
  };
  const complete = walk(v, 0);
  const text = parts.join('');
  return complete && text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`;
}
