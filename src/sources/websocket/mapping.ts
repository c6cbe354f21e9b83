import { Points, type Attributes, type Envelope, type LogRecord, type Scope } from '../../model.js';
import { getPath } from '../../mapping/path.js';
import { compileRules, extractPoints, toNumber, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { Severity, severityByRules, severityOf } from '../../mapping/severity.js';
import type { CompiledAttribute, CompiledTime, CompiledWebSocket, Condition } from './config.js';
import { DEFAULT_LIMITS, briefJson, type FrameLimits } from '../../mapping/values.js';

// A decoded frame → metric points and log records, by the rules of one `type: websocket` entry.
// There are no vendor defaults: the `metrics` rules, `frames` and `resource_attributes` are the mapping.

// The dotted-path walker is the shared one (numeric segments index lists: `imdata.0.attributes`).
export { getPath };

/** Every condition holds (an empty list always does). */
export function holds(conditions: readonly Condition[], frame: unknown): boolean {
  for (const c of conditions) if (!c.test(getPath(frame, c.path))) return false;
  return true;
}

const UNIT_TO_MS = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 } as const;

/** A vendor timestamp → epoch ms, or undefined when absent or unreadable. */
export function timeOf(v: unknown, unit: CompiledTime['unit']): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (unit === 'iso8601') {
    if (typeof v !== 'string') return undefined;
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const n = toNumber(v);
  return n === undefined || typeof v === 'boolean' ? undefined : n * UNIT_TO_MS[unit];
}

function timeAt(t: CompiledTime, frame: unknown, payload: unknown): number | undefined {
  return timeOf(getPath(t.fromFrame ? frame : payload, t.path), t.unit);
}

function scalar(v: unknown): string | number | boolean | undefined {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

export type Decoded = { payload: unknown } | { reject: string };

/** Finds the payload inside a frame (and parses it when it is JSON inside a string). */
export function payloadOf(frame: unknown, c: Pick<CompiledWebSocket, 'payloadPath' | 'jsonString'>): Decoded {
  const raw = getPath(frame, c.payloadPath);
  if (raw === undefined || raw === null) return { reject: 'no_payload' };
  if (!c.jsonString) return { payload: raw };
  if (typeof raw !== 'string') return { reject: 'bad_payload' };
  // Mist pads some payloads with NUL bytes, which JSON.parse refuses.
  const text = raw.includes('\u0000') ? raw.replaceAll('\u0000', '') : raw;
  try {
    return { payload: JSON.parse(text) };
  } catch {
    return { reject: 'malformed_payload' };
  }
}

export class WebSocketMapping {
  private readonly rules: CompiledRule[];
  private readonly scope: Scope;

  constructor(
    private readonly source: string,
    private readonly c: CompiledWebSocket,
    rules: readonly MetricRule[],
    private readonly staticResource: Attributes,
    version: string,
    /** Counters' start time when no uptime says otherwise: when this source started. */
    private readonly startedMs: number,
    /** A configured time field was missing or unreadable: the arrival time stood in. */
    private readonly onMissingTime: (path: string) => void = () => {},
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
  ) {
    this.rules = compileRules(rules);
    this.scope = { name: 'ws2otel/websocket', version };
  }

  private attributes(rules: readonly CompiledAttribute[], frame: unknown, payload: unknown, into: Attributes): Attributes {
    for (const r of rules) {
      let v = scalar(getPath(r.fromFrame ? frame : payload, r.path));
      if (v === undefined) continue;
      if (r.capture) {
        const m = r.capture.exec(String(v));
        if (!m || m[1] === undefined) continue;
        v = m[1];
      }
      into[r.attribute] = v;
    }
    return into;
  }

  private time(t: CompiledTime | undefined, frame: unknown, payload: unknown): number | undefined {
    if (!t) return undefined;
    const ms = timeAt(t, frame, payload);
    if (ms === undefined) this.onMissingTime(t.path.join('.'));
    return ms;
  }

  resource(frame: unknown, payload: unknown): Attributes {
    return this.attributes(this.c.resourceAttributes, frame, payload, { ...this.staticResource });
  }

  /** One payload object → one envelope of points (empty when no rule found a number). */
  metrics(frame: unknown, payload: unknown, receivedMs: number): Envelope {
    const m = this.c.metrics!;
    const t = this.time(m.time, frame, payload) ?? receivedMs;
    const uptimeMs = m.uptime ? timeAt(m.uptime, frame, payload) : undefined;
    const start = Math.min(t, uptimeMs !== undefined ? t - uptimeMs : this.startedMs);
    const metrics = new Points();
    extractPoints(payload, this.rules, t, start, metrics, this.limits.points_per_frame);
    return { source: this.source, resource: this.resource(frame, payload), scope: this.scope, metrics, logs: [], receivedMs };
  }

  /** One payload object → one log record in its resource's envelope. */
  log(frame: unknown, payload: unknown, receivedMs: number): Envelope {
    const l = this.c.logs!;
    const timeMs = this.time(l.time, frame, payload) ?? receivedMs;
    const bodyRaw = l.bodyPath ? getPath(payload, l.bodyPath) : undefined;
    // briefJson, not JSON.stringify: a 10,000-deep payload must not overflow the stack.
    const body = typeof bodyRaw === 'string' ? bodyRaw : bodyRaw !== undefined && bodyRaw !== null ? briefJson(bodyRaw) : briefJson(payload);
    const eventName = l.eventNamePath ? scalar(getPath(payload, l.eventNamePath)) : undefined;
    const record: LogRecord = {
      timeMs,
      observedMs: receivedMs,
      ...this.severity(l.severityPath ? getPath(payload, l.severityPath) : undefined),
      body,
      ...(eventName !== undefined && eventName !== '' ? { eventName: `${l.eventNamePrefix}${String(eventName)}` } : {}),
      attributes: this.attributes(l.attributes, frame, payload, {}),
    };
    return { source: this.source, resource: this.resource(frame, payload), scope: this.scope, metrics: new Points(), logs: [record], receivedMs };
  }

  private severity(v: unknown): { severityNumber: number; severityText: string } {
    const l = this.c.logs!;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 24) {
      const name = (Object.keys(Severity) as (keyof typeof Severity)[]).filter((k) => Severity[k] <= v).pop()!;
      return { severityNumber: v, severityText: name };
    }
    const text = scalar(v);
    if (text === undefined || text === '') return { severityNumber: Severity[l.severity], severityText: l.severity };
    if (l.severityRules.length) return severityByRules(String(text), l.severityRules, l.severity);
    const named = severityOf(String(text));
    // severityOf calls every word it does not know INFO; here the configured default decides.
    if (named.severityText === 'INFO' && !/^(info|information|notice|ok)$/i.test(String(text))) {
      return { severityNumber: Severity[l.severity], severityText: l.severity };
    }
    return named;
  }
}
