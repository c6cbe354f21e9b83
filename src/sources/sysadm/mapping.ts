import { Points, type AttrValue, type Attributes, type Envelope, type LogRecord, type Scope } from '../../model.js';
import { compileRules, extractPoints, mergeRules, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { Severity, severityOf, type SeverityName } from '../../mapping/severity.js';
import type { EventClass } from './wire.js';
import { DEFAULT_LIMITS, type FrameLimits } from '../../mapping/values.js';
import { compilePath, select, type CompiledPath } from '../../mapping/path.js';
import { StateGauges, type StateSpec } from '../../mapping/states.js';

// sysadm payload → metric points and log records. The tables are data: a source's `metrics` config
// block adds to or overrides DEFAULT_METRICS by path (see mergeRules). Paths are into the event's or
// the poll reply's `args`, after unit-bearing strings ("107G", "6%", "1.00x", "45.0C") became numbers.

const POOL = 'sysadm.zpool.name';

/** `system-state` zpools (strings from `zpool list`) and the systemmanager poll replies. */
export const DEFAULT_METRICS: readonly MetricRule[] = [
  { path: 'zpools.*.size', metric: 'sysadm.zpool.size', unit: 'By', int: true, key_attribute: POOL, description: 'Pool size (zpool list SIZE, as rounded by zpool)' },
  { path: 'zpools.*.alloc', metric: 'sysadm.zpool.allocated', unit: 'By', int: true, key_attribute: POOL, description: 'Space allocated in the pool (zpool list ALLOC)' },
  { path: 'zpools.*.free', metric: 'sysadm.zpool.free', unit: 'By', int: true, key_attribute: POOL, description: 'Free space in the pool (zpool list FREE)' },
  { path: 'zpools.*.expandsz', metric: 'sysadm.zpool.expandable', unit: 'By', int: true, key_attribute: POOL, description: 'Space the pool could grow by (zpool list EXPANDSZ; absent when "-")' },
  { path: 'zpools.*.frag', metric: 'sysadm.zpool.fragmentation', unit: '%', key_attribute: POOL, description: 'Free-space fragmentation (zpool list FRAG)' },
  { path: 'zpools.*.capacity', metric: 'sysadm.zpool.capacity', unit: '%', key_attribute: POOL, description: 'Share of the pool allocated (zpool list CAP)' },
  { path: 'zpools.*.dedup', metric: 'sysadm.zpool.dedup_ratio', unit: '1', key_attribute: POOL, description: 'Deduplication ratio (zpool list DEDUP)' },
  { path: 'memorystats.active', metric: 'sysadm.memory.active', unit: 'By', scale: 1 << 20, int: true, description: 'Active memory (vm.stats.vm.v_active_count)' },
  { path: 'memorystats.inactive', metric: 'sysadm.memory.inactive', unit: 'By', scale: 1 << 20, int: true, description: 'Inactive memory' },
  { path: 'memorystats.wired', metric: 'sysadm.memory.wired', unit: 'By', scale: 1 << 20, int: true, description: 'Wired (unpageable) memory' },
  { path: 'memorystats.cache', metric: 'sysadm.memory.cache', unit: 'By', scale: 1 << 20, int: true, description: 'Cache memory' },
  { path: 'memorystats.free', metric: 'sysadm.memory.free', unit: 'By', scale: 1 << 20, int: true, description: 'Free memory' },
  { path: 'cpupercentage.*.busy', metric: 'sysadm.cpu.busy', unit: '%', key_attribute: 'cpu', description: 'CPU busy share since the previous poll (100 − idle)' },
  { path: 'cpupercentage.busytotal', metric: 'sysadm.cpu.busy', unit: '%', attributes: { cpu: 'total' }, description: 'CPU busy share since the previous poll (100 − idle)' },
  { path: 'cputemps.*', metric: 'sysadm.cpu.temperature', unit: 'Cel', key_attribute: 'cpu', description: 'Temperature sensor reading (sysctl *.temperature)' },
];

/**
 * Enumerations become state metrics the OpenTelemetry way (as `hw.status`): one point per known state,
 * value 1 for the current one and 0 for the others, the state in attribute `state`. A value outside the
 * table is reported with 1 as well, so nothing is lost, and with 0 once it passes (remembered per pool,
 * bounded: the shared StateGauges of src/mapping/states.ts).
 */
export interface StateRule {
  /** Dotted path; one `*` segment fans out with its key in key_attribute. */
  path: string;
  metric: string;
  description: string;
  key_attribute?: string;
  states: readonly string[];
}

/** Every health `zpool list` prints. Anything else in `health` means the row's columns shifted. */
export const ZPOOL_HEALTH: readonly string[] = ['ONLINE', 'DEGRADED', 'FAULTED', 'OFFLINE', 'UNAVAIL', 'REMOVED', 'SUSPENDED'];

export const STATE_RULES: readonly StateRule[] = [
  {
    path: 'zpools.*.health', metric: 'sysadm.zpool.health', key_attribute: POOL, description: 'Pool health (zpool list HEALTH): 1 for the current state',
    states: ZPOOL_HEALTH,
  },
  {
    path: 'updates.status', metric: 'sysadm.updates.status', description: 'System update status: 1 for the current state',
    states: ['noupdates', 'updatesavailable', 'rebootrequired', 'updaterunning', 'checkingforupdates'],
  },
];

const SIZE_SUFFIX = 'KMGTPEZ';
const SIZE_RE = /^(\d+(?:\.\d+)?)([KMGTPEZ])(?:i?B)?$/;
const SUFFIXED_RE = /^(-?\d+(?:\.\d+)?)(%|x|C)$/;

/**
 * A sysadm value as a number where it is one: "107G" → bytes (powers of 1024, as zpool prints them),
 * "6%" → 6, "1.00x" → 1, "45.0C" → 45, "512" → 512. Anything else (including zpool's "-") is returned as is.
 */
export function sysadmNumber(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  const size = SIZE_RE.exec(s);
  if (size) return Math.round(Number(size[1]) * 1024 ** (SIZE_SUFFIX.indexOf(size[2]!) + 1));
  const suffixed = SUFFIXED_RE.exec(s);
  if (suffixed) return Number(suffixed[1]);
  return v;
}

function normalize(v: unknown, depth = 0): unknown {
  if (depth > 4 || typeof v !== 'object' || v === null) return sysadmNumber(v);
  if (Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = normalize(x, depth + 1);
  return out;
}

/** "3 - Warning" → severity by number (0–2 information, 3–5 warning, 6–8 critical, 9–10 urgent), else by word. */
export function prioritySeverity(priority: unknown): { severityNumber: number; severityText: string } | undefined {
  if (typeof priority !== 'string' && typeof priority !== 'number') return undefined;
  const text = String(priority);
  const m = /^\s*(\d+)/.exec(text);
  if (m) {
    const n = Number(m[1]);
    const name: SeverityName = n <= 2 ? 'INFO' : n <= 5 ? 'WARN' : n <= 8 ? 'ERROR' : 'FATAL';
    return { severityNumber: Severity[name], severityText: name };
  }
  const word = /([A-Za-z]+)\s*$/.exec(text)?.[1];
  if (!word) return undefined;
  if (/^critical$/i.test(word)) return { severityNumber: Severity.ERROR, severityText: 'ERROR' };
  return severityOf(word);
}

interface CompiledState {
  path: CompiledPath;
  spec: StateSpec;
  key_attribute: string;
}

/** Fields that are the record's body, time or metrics rather than attributes. */
const NOT_ATTRIBUTES = new Set(['zpools', 'message']);

function flatten(prefix: string, v: unknown, into: Attributes, depth: number): void {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    into[prefix] = v as AttrValue;
  } else if (Array.isArray(v)) {
    if (v.length && v.every((x) => typeof x === 'string' || typeof x === 'number')) into[prefix] = v.join('; ');
  } else if (typeof v === 'object' && v !== null && depth < 2) {
    for (const [k, x] of Object.entries(v)) flatten(`${prefix}.${k}`, x, into, depth + 1);
  }
}

function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v < 1e11 ? v * 1000 : v; // epoch s or ms
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return parseTime(Number(v));
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

const STAMP_RE = /^(?=.*\b(?:19|20)\d\d\b)(?=.*\b\d{1,2}:\d\d).{0,40}$/;

/** life-preserver's "<timestamp>: <text>": the time and the text, when the prefix is a time. */
export function splitStampedMessage(message: string): { timeMs?: number; text: string } {
  const i = message.indexOf(': ');
  // Date.parse reads almost anything ("tank 5" is May 2001): only a prefix with a year and a time is one.
  if (i > 0 && STAMP_RE.test(message.slice(0, i))) {
    const t = parseTime(message.slice(0, i));
    if (t !== undefined) return { timeMs: t, text: message.slice(i + 2) };
  }
  return { text: message };
}

/**
 * system-state's pools without the rows whose columns shifted. The server reads `zpool list` by column
 * position, and a ZFS that prints one more column moves every later field: such a row's "health" is
 * not a health, and its numbers are other columns'. Those rows are dropped whole (their names returned,
 * for counting) rather than mapped; `args` is returned as is when every row is sound.
 */
export function withoutShiftedPools(args: Record<string, unknown>): { args: Record<string, unknown>; shifted: string[] } {
  const pools = args.zpools;
  if (typeof pools !== 'object' || pools === null || Array.isArray(pools)) return { args, shifted: [] };
  const kept: Record<string, unknown> = {};
  const shifted: string[] = [];
  for (const [name, row] of Object.entries(pools)) {
    const health = (row as { health?: unknown } | null)?.health;
    if (typeof health === 'string' && ZPOOL_HEALTH.includes(health)) kept[name] = row;
    else shifted.push(name);
  }
  return shifted.length ? { args: { ...args, zpools: kept }, shifted } : { args, shifted };
}

export class SysadmMapping {
  private readonly rules: CompiledRule[];
  private readonly states: CompiledState[];
  /** Remembers, per pool, a health beyond the table, so it is reported 0 once it passes. */
  private readonly gauges = new StateGauges();
  private readonly scope: Scope;

  constructor(
    private readonly source: string,
    overrides: readonly MetricRule[],
    private readonly staticResource: Attributes,
    version: string,
    stateRules: readonly StateRule[] = STATE_RULES,
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
  ) {
    this.rules = compileRules(mergeRules(DEFAULT_METRICS, overrides));
    this.states = stateRules.map((r) => ({
      path: compilePath(r.path),
      spec: { metric: r.metric, description: r.description, values: r.states },
      key_attribute: r.key_attribute ?? 'key',
    }));
    this.scope = { name: 'ws2otel/sysadm', version };
  }

  resource(host: string): Attributes {
    return host ? { 'host.name': host, ...this.staticResource } : { ...this.staticResource };
  }

  /** One event push → one envelope: its log record, and for system-state the pool and update metrics. */
  event(type: EventClass, args: Record<string, unknown>, host: string, receivedMs: number): Envelope {
    const own = type === 'system-state' && typeof args.hostname === 'string' && args.hostname !== '' ? args.hostname : host;
    const record = this.record(type, args, receivedMs);
    const metrics = new Points();
    if (type === 'system-state') this.points(args, record.timeMs, metrics);
    return { source: this.source, resource: this.resource(own), scope: this.scope, metrics, logs: [record], receivedMs };
  }

  /** A `systemmanager` reply's args (`{"memorystats":{...}}`) → points stamped with the arrival time. */
  poll(args: Record<string, unknown>, host: string, receivedMs: number): Envelope {
    const metrics = new Points();
    this.points(args, receivedMs, metrics);
    return { source: this.source, resource: this.resource(host), scope: this.scope, metrics, logs: [], receivedMs };
  }

  private points(args: Record<string, unknown>, t: number, out: Points): void {
    const max = this.limits.points_per_frame;
    extractPoints(normalize(args), this.rules, t, t, out, max);
    for (const s of this.states) {
      if (out.length > max) return; // the session cuts to the cap and counts
      select(args, s.path, (key, value) => {
        if (out.length > max) return false;
        if (typeof value === 'string') this.gauges.points(s.spec, key ?? '', value, t, key === undefined ? {} : { [s.key_attribute]: key }, out);
        return true;
      });
    }
  }

  private record(type: EventClass, args: Record<string, unknown>, receivedMs: number): LogRecord {
    let timeMs: number | undefined;
    let body = '';
    const attributes: Attributes = {};
    for (const [k, v] of Object.entries(args)) {
      if (!NOT_ATTRIBUTES.has(k)) flatten(`sysadm.event.${k}`, v, attributes, 0);
    }
    const sev = prioritySeverity(args.priority);
    let severity = sev ?? { severityNumber: Severity.INFO, severityText: 'INFO' };
    switch (type) {
      case 'life-preserver': {
        const message = typeof args.message === 'string' ? args.message : '';
        const split = splitStampedMessage(message);
        timeMs = split.timeMs;
        body = split.text;
        break;
      }
      case 'dispatcher': {
        const state = typeof args.state === 'string' ? args.state : '';
        timeMs = state === 'finished' ? parseTime(args.time_finished) ?? parseTime(args.time_started) : parseTime(args.time_started);
        const id = typeof args.process_id === 'string' ? args.process_id : '';
        const cmd = typeof args.current_cmd === 'string' && args.current_cmd !== '' ? `: ${args.current_cmd}` : '';
        body = [id, state].filter(Boolean).join(' ') + cmd;
        // A finished job with a non-zero return code is worth a warning even without a priority.
        if (!sev && state === 'finished' && Object.entries(args).some(([k, v]) => k.startsWith('return_codes') && codeFailed(v))) {
          severity = { severityNumber: Severity.WARN, severityText: 'WARN' };
        }
        break;
      }
      case 'system-state': {
        const parts: string[] = [];
        const updates = args.updates as Record<string, unknown> | undefined;
        if (typeof updates?.status === 'string') parts.push(`updates: ${updates.status}`);
        const pools = args.zpools;
        if (typeof pools === 'object' && pools !== null) {
          // Only string healths: String() of a deep array overflows the stack.
          const health: string[] = [];
          for (const name in pools) {
            if (health.length >= 64) break;
            const h = (pools as Record<string, { health?: unknown } | null>)[name]?.health;
            health.push(`${name} ${typeof h === 'string' ? h : '?'}`);
          }
          if (health.length) parts.push(`pools: ${health.join(', ')}`);
        }
        if ((args.hostnamechanged === 'true' || args.hostnamechanged === true) && typeof args.hostname === 'string') parts.push(`hostname changed to ${args.hostname}`);
        body = parts.join('; ');
        break;
      }
    }
    return {
      timeMs: timeMs ?? receivedMs,
      observedMs: receivedMs,
      ...severity,
      body: body || `${type} event`,
      eventName: `sysadm.${type}`,
      attributes,
    };
  }
}

function codeFailed(v: unknown): boolean {
  if (typeof v === 'object' && v !== null) return Object.values(v).some(codeFailed);
  const n = Number(v);
  return Number.isFinite(n) && n !== 0;
}
