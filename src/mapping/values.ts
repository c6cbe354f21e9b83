import type { Attributes, Envelope, LogRecord, Points } from '../model.js';

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

export type ValueReason = 'non_finite' | 'negative_counter' | 'bad_timestamp';

/** A time that a sink will take and a reader will believe: finite, not before 2000, at most a day ahead. */
export function plausibleTime(ms: number, receivedMs: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= receivedMs + AHEAD_MS;
}

type Cut = 'too_many_points' | 'too_many_records' | 'too_many_attributes' | 'too_many_envelopes';

export interface Verdict {
  /** Values dropped or replaced, by reason (counted per point or record). */
  values: Map<ValueReason, number>;
  /** Caps this envelope hit (each counted once per frame). */
  cut: Set<Cut>;
}

function count(v: Verdict, r: ValueReason): void {
  v.values.set(r, (v.values.get(r) ?? 0) + 1);
}

/**
 * Attribute values a sink takes: finite numbers; integers past 2^53 as text (an int64 field would wrap
 * or be refused). Returns the same object when nothing changes (the common case: no copy is made).
 */
function cleanAttributes(attrs: Attributes, max: number, v: Verdict): Attributes {
  let out: Attributes | undefined;
  let n = 0;
  for (const k in attrs) {
    const x = attrs[k]!;
    if (n >= max) {
      v.cut.add('too_many_attributes');
      out ??= copyUpTo(attrs, k);
      break;
    }
    n++;
    if (typeof x !== 'number' || Number.isSafeInteger(x) || (Number.isFinite(x) && !Number.isInteger(x))) {
      if (out) out[k] = x;
      continue;
    }
    out ??= copyUpTo(attrs, k);
    if (Number.isFinite(x)) out[k] = String(x);
    else count(v, 'non_finite');
  }
  return out ?? attrs;
}

function copyUpTo(attrs: Attributes, stop: string): Attributes {
  const out: Attributes = {};
  for (const k in attrs) {
    if (k === stop) break;
    out[k] = attrs[k]!;
  }
  return out;
}

/**
 * Point i as a sink may carry it, fixed where it can be in the columns themselves (the envelope is the
 * session's until it is emitted); false when it must go.
 */
function point(pts: Points, i: number, receivedMs: number, attrMax: number, v: Verdict): boolean {
  const value = pts.value[i]!;
  const kind = pts.desc[i]!.kind;
  const drop: ValueReason | undefined = !Number.isFinite(value) ? 'non_finite' : kind === 'counter' && value < 0 ? 'negative_counter' : undefined;
  if (drop) {
    count(v, drop);
    return false;
  }
  let timeMs = pts.timeMs[i]!;
  if (!plausibleTime(timeMs, receivedMs)) {
    count(v, 'bad_timestamp');
    pts.timeMs[i] = timeMs = receivedMs;
  }
  // A start after the sample, or not a time at all (a negative uptime, a huge one): the series starts
  // now. Gauges ignore their start time; it is kept valid anyway, uncounted.
  const startTimeMs = pts.startTimeMs[i]!;
  if (!Number.isFinite(startTimeMs) || startTimeMs > timeMs || startTimeMs < EARLIEST_MS) {
    if (kind !== 'gauge') count(v, 'bad_timestamp');
    pts.startTimeMs[i] = timeMs;
  }
  const attributes = pts.attributes[i]!;
  const clean = cleanAttributes(attributes, attrMax, v);
  if (clean !== attributes) pts.attributes[i] = clean;
  return true;
}

function record(r: LogRecord, receivedMs: number, attrMax: number, v: Verdict): LogRecord {
  let timeMs = r.timeMs;
  if (!plausibleTime(timeMs, receivedMs)) {
    count(v, 'bad_timestamp');
    timeMs = receivedMs;
  }
  const observedMs = plausibleTime(r.observedMs, receivedMs) ? r.observedMs : receivedMs;
  const attributes = cleanAttributes(r.attributes, attrMax, v);
  if (timeMs === r.timeMs && observedMs === r.observedMs && attributes === r.attributes) return r;
  return { ...r, timeMs, observedMs, attributes };
}

/**
 * One envelope made fit for a sink, within what is left of its frame's budget. Returns the envelope to
 * emit (undefined when nothing in it survived) and, in `v`, what was dropped or cut. Its points are
 * fixed in place: the envelope is the caller's until it is emitted.
 */
export function sanitizeEnvelope(env: Envelope, room: { points: number; records: number }, limits: FrameLimits, v: Verdict): Envelope | undefined {
  const now = env.receivedMs;
  const attrMax = limits.attributes_per_record;
  const pts = env.metrics;
  if (pts.length > room.points) {
    v.cut.add('too_many_points');
    pts.truncate(room.points);
  }
  // Points that must go are squeezed out in place: a clean frame moves and allocates nothing.
  pts.retain((i) => point(pts, i, now, attrMax, v));
  let logs = env.logs;
  if (logs.length > room.records) {
    v.cut.add('too_many_records');
    logs = logs.slice(0, Math.max(0, room.records));
  }
  let keptLogs: LogRecord[] | undefined = logs === env.logs ? undefined : [];
  for (let i = 0; i < logs.length; i++) {
    const r = logs[i]!;
    const q = record(r, now, attrMax, v);
    if (q !== r && keptLogs === undefined) keptLogs = logs.slice(0, i);
    if (keptLogs !== undefined) keptLogs.push(q);
  }
  const resource = cleanAttributes(env.resource, attrMax, v);
  const outLogs = keptLogs ?? logs;
  if (pts.length === 0 && outLogs.length === 0) return undefined;
  if (outLogs === env.logs && resource === env.resource) return env;
  return { ...env, resource, logs: outLogs };
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
