import { Points, type Attributes, type Envelope, type LogRecord, type Scope } from '../../model.js';
import { compileRules, mergeRules, toNumber, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { severityByRules, type SeverityRule } from '../../mapping/severity.js';
import { DEFAULT_LIMITS, type FrameLimits } from '../../mapping/values.js';
import { getPath } from '../../mapping/path.js';
import { StateGauges, type StateSpec } from '../../mapping/states.js';

/** Counter series remembered for their start time; the oldest is forgotten past this (it restarts at first sight). */
const MAX_COUNTER_SERIES = 200_000;
/** Objects whose last known state is remembered (to tell a re-subscribe's snapshot from news); the oldest is forgotten past this. */
const MAX_KNOWN_OBJECTS = 200_000;

// NX-API managed objects → metric points and log records. A managed object (MO) is
// `{"<class>":{"attributes":{"dn":"...", ...}}}` with every value a string. The tables are data: a
// source's `metrics` block adds to or overrides MO_METRICS by path `<class>.attributes.<attribute>`.

const RX = { 'network.io.direction': 'receive' };
const TX = { 'network.io.direction': 'transmit' };

function counters(cls: string, dir: Attributes): MetricRule[] {
  const way = dir === RX ? 'received' : 'sent';
  return [
    { path: `${cls}.attributes.octets`, metric: 'nxapi.interface.io', unit: 'By', type: 'counter', attributes: dir, description: 'Bytes through the interface' },
    { path: `${cls}.attributes.ucastPkts`, metric: 'nxapi.interface.packets', unit: '{packet}', type: 'counter', attributes: { ...dir, 'nxapi.packet.cast': 'unicast' }, description: 'Packets through the interface, by cast' },
    { path: `${cls}.attributes.multicastPkts`, metric: 'nxapi.interface.packets', unit: '{packet}', type: 'counter', attributes: { ...dir, 'nxapi.packet.cast': 'multicast' }, description: 'Packets through the interface, by cast' },
    { path: `${cls}.attributes.broadcastPkts`, metric: 'nxapi.interface.packets', unit: '{packet}', type: 'counter', attributes: { ...dir, 'nxapi.packet.cast': 'broadcast' }, description: 'Packets through the interface, by cast' },
    { path: `${cls}.attributes.errors`, metric: 'nxapi.interface.errors', unit: '{error}', type: 'counter', attributes: dir, description: `Packets ${way} with errors` },
    { path: `${cls}.attributes.discards`, metric: 'nxapi.interface.discards', unit: '{packet}', type: 'counter', attributes: dir, description: `Packets ${way === 'received' ? 'received' : 'to send'} that were discarded` },
  ];
}

/** Default class attribute → metric table (the NX-OS DME names; APIC uses the same classes). */
export const MO_METRICS: readonly MetricRule[] = [
  // sys/intf/phys-[ethX/Y]/dbgIfIn and .../dbgIfOut: the interface counters of `show interface`.
  ...counters('rmonIfIn', RX),
  { path: 'rmonIfIn.attributes.unknownProtos', metric: 'nxapi.interface.unknown_protocols', unit: '{packet}', type: 'counter', attributes: RX, description: 'Packets received for an unknown protocol' },
  ...counters('rmonIfOut', TX),
  // sys/intf/phys-[ethX/Y]: configuration; its state strings become numbers through STATE_VALUES.
  { path: 'l1PhysIf.attributes.adminSt', metric: 'nxapi.interface.admin.status', unit: '1', type: 'gauge', int: true, description: '1 when the interface is administratively up, 0 otherwise' },
  { path: 'l1PhysIf.attributes.mtu', metric: 'nxapi.interface.mtu', unit: 'By', type: 'gauge', int: true, description: 'Configured MTU' },
  // sys/intf/phys-[ethX/Y]/phys: the running state.
  { path: 'ethpmPhysIf.attributes.operSt', metric: 'nxapi.interface.oper.status', unit: '1', type: 'gauge', int: true, description: '1 when the interface is operationally up, 0 otherwise' },
  { path: 'ethpmPhysIf.attributes.operSpeed', metric: 'nxapi.interface.speed', unit: 'bit/s', type: 'gauge', int: true, description: 'Negotiated speed' },
  { path: 'ethpmPhysIf.attributes.operMtu', metric: 'nxapi.interface.oper.mtu', unit: 'By', type: 'gauge', int: true, description: 'Operational MTU' },
];

/**
 * Attributes whose values are words, not numbers: the word → number table. A word missing from the
 * table (link-up, sfp-missing, error-disabled, …) counts as 0 (not up).
 */
export const STATE_VALUES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  adminSt: { up: 1, down: 0 },
  operSt: { up: 1, down: 0 },
};

/**
 * The same words as state metrics (mapping/states.ts): the 0/1 gauges above stay for dashboards and
 * alerts ("up or not"), and these say which state it is (`sfp-missing`, `link-up`, `err-disabled` …,
 * which the 0/1 gauge folds into 0), each seen word a series, 0 once it passes.
 */
export const STATE_METRICS: Readonly<Record<string, StateSpec>> = {
  adminSt: { metric: 'nxapi.interface.admin.state', description: 'Administrative state: 1 for the current one, 0 for the others seen', values: ['up', 'down'] },
  operSt: { metric: 'nxapi.interface.oper.state', description: 'Operational state: 1 for the current one, 0 for the others seen', values: ['up', 'down'] },
};

const SPEED_RE = /^(\d+(?:\.\d+)?)\s*([KMGT])$/i;
const SPEED_SCALE: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Attributes parsed by a function: NX-OS speeds are `10G`, `100M`, `auto` (no number yet). */
export const VALUE_PARSERS: Readonly<Record<string, (v: string) => number | undefined>> = {
  operSpeed: (v) => {
    const m = SPEED_RE.exec(v.trim());
    return m ? Number(m[1]) * SPEED_SCALE[m[2]!.toUpperCase()]! : undefined;
  },
};

/** A notification's object → severity, first match wins, matched against `severity=… adminSt=… operSt=…`. */
export const EVENT_SEVERITY: readonly SeverityRule[] = [
  { match: /\bseverity=critical\b/, severity: 'FATAL' },
  { match: /\bseverity=major\b/, severity: 'ERROR' },
  { match: /\bseverity=(minor|warning)\b/, severity: 'WARN' },
  { match: /\badminSt=down\b/, severity: 'INFO' }, // shut down on purpose: its operSt=down is expected
  { match: /\boperSt=(?!up\b)\S+/, severity: 'WARN' },
];

/** Interface-owning dn segments: `phys-[eth1/1]`, `aggr-[po10]`, `svi-[vlan20]`, `lb-[lo0]`, `mgmt-[mgmt0]`, `tunnel-[tunnel1]`. */
const INTERFACE_RE = /(?:^|\/)(?:phys|aggr|svi|lb|mgmt|tunnel)-\[([^\]]+)\]/;

/** Attributes that are the record's identity or time rather than content. */
const NOT_CONTENT = new Set(['dn', 'status', 'modTs', 'rn', 'childAction']);

function sameContent(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}

export function interfaceOf(dn: string): string | undefined {
  return INTERFACE_RE.exec(dn)?.[1];
}

/** `2019-10-18T19:42:29.446+00:00` → epoch ms; undefined for '' or `never`. */
export function parseModTs(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '' || v === 'never') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

export interface ManagedObject {
  cls: string;
  attrs: Record<string, unknown>;
  dn: string;
  /** The object as it came, `{"<class>":{"attributes":{…}}}`: what a rule's path walks. */
  item: unknown;
}

/** `{"<class>":{"attributes":{dn,...}}}` → its parts; undefined when it has not that shape. */
export function decodeMo(item: unknown): ManagedObject | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  let cls: string | undefined;
  for (const k in item) {
    if (cls !== undefined) return undefined; // exactly one class key
    cls = k;
  }
  if (cls === undefined) return undefined;
  const attrs = ((item as Record<string, unknown>)[cls] as { attributes?: unknown } | null)?.attributes;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return undefined;
  const dn = (attrs as Record<string, unknown>).dn;
  if (typeof dn !== 'string' || dn === '') return undefined;
  return { cls, attrs: attrs as Record<string, unknown>, dn, item };
}

interface ClassRule {
  rule: CompiledRule;
  attribute: string;
  /** dn-independent part of the counter-state key. */
  key: string;
  /** Below the class key: `attributes.<attribute>`, walked by the one path walker. */
  below: string[];
}

export interface MappedFrame {
  envelope: Envelope;
  /** imdata items that are not managed objects. */
  bad: number;
}

export class NxapiMapping {
  private readonly byClass = new Map<string, ClassRule[]>();
  private readonly anyClass: ClassRule[] = [];
  private readonly scope: Scope;
  readonly resource: Attributes;
  /** Per counter series: when it started (first sight, or the last drop) and its last value. */
  private readonly counterState = new Map<string, { start: number; last: number }>();
  /** Per object (dn): the state words beyond up/down seen (bounded). */
  private readonly gauges = new StateGauges();
  /** dn → the content attributes last seen of objects that become records (classes without metric rules). */
  private readonly known = new Map<string, Record<string, string>>();

  constructor(
    private readonly source: string, overrides: readonly MetricRule[], staticResource: Attributes, host: string, version: string,
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
  ) {
    for (const rule of compileRules(mergeRules(MO_METRICS, overrides))) {
      const [cls, , attribute] = rule.segments;
      if (rule.segments.length !== 3 || !cls || !attribute) continue; // config check refuses other shapes
      const entry = { rule, attribute, key: rule.segments.join('.'), below: rule.segments.slice(1) };
      if (cls === '*') this.anyClass.push(entry);
      else {
        let list = this.byClass.get(cls);
        if (!list) this.byClass.set(cls, (list = []));
        list.push(entry);
      }
    }
    this.scope = { name: 'ws2otel/nxapi', version };
    this.resource = { 'device.manufacturer': 'Cisco', 'host.name': host, ...staticResource };
  }

  /** True when objects of this class become points. */
  hasMetrics(cls: string): boolean {
    return this.byClass.has(cls) || this.anyClass.length > 0;
  }

  /** One past a cap is enough: the session cuts the frame to the caps and counts it. */
  private full(env: Envelope): boolean {
    return env.metrics.length > this.limits.points_per_frame || env.logs.length > this.limits.records_per_frame;
  }

  private envelope(receivedMs: number): Envelope {
    return { source: this.source, resource: this.resource, scope: this.scope, metrics: new Points(), logs: [], receivedMs };
  }

  /**
   * A subscribe reply's `imdata`: the query's objects as they are now, never news. Objects of classes
   * with metric rules become points stamped with the arrival time (current state, every time); the
   * others become `nxapi.mo.snapshot` state records, so that a query for faults or configuration
   * still shows the current state, but only when the object is new to this source or differs from
   * what it last knew: a re-subscribe (every reconnect) returns the whole snapshot again, and that
   * must not come out as a second copy of every object.
   */
  snapshot(query: string, imdata: readonly unknown[], receivedMs: number): MappedFrame {
    const env = this.envelope(receivedMs);
    let bad = 0;
    for (const item of imdata) {
      if (this.full(env)) break;
      const mo = decodeMo(item);
      if (!mo) {
        bad++;
        continue;
      }
      if (this.hasMetrics(mo.cls)) this.points(mo, receivedMs, env.metrics);
      else if (this.learn(mo, '')) env.logs.push(this.record(mo, 'snapshot', { 'nxapi.query': query }, receivedMs));
    }
    return { envelope: env, bad };
  }

  /** A notification: every object becomes a log record; numeric attributes of mapped classes also become points. */
  notification(ids: readonly string[], imdata: readonly unknown[], receivedMs: number): MappedFrame {
    const env = this.envelope(receivedMs);
    let bad = 0;
    const idList = ids.join(',');
    for (const item of imdata) {
      if (this.full(env)) break;
      const mo = decodeMo(item);
      if (!mo) {
        bad++;
        continue;
      }
      const status = typeof mo.attrs.status === 'string' ? mo.attrs.status : '';
      if (status === 'deleted') this.forget(mo.dn);
      else this.points(mo, parseModTs(mo.attrs.modTs) ?? receivedMs, env.metrics);
      if (!this.hasMetrics(mo.cls)) this.learn(mo, status);
      env.logs.push(this.record(mo, status, { 'nxapi.subscription_ids': idList }, receivedMs));
    }
    return { envelope: env, bad };
  }

  private points(mo: ManagedObject, timeMs: number, out: Points): void {
    const rules = this.byClass.get(mo.cls);
    if (!rules && this.anyClass.length === 0) return;
    const iface = interfaceOf(mo.dn);
    const identity: Attributes = iface ? { 'network.interface.name': iface } : { 'nxapi.dn': mo.dn };
    for (const list of [rules ?? [], this.anyClass]) {
      for (const { rule, attribute, key, below } of list) {
        // The rule's path walked over the object as it came; a `*` class stands for this object's class.
        const raw = getPath(mo.item, [mo.cls, ...below]);
        if (raw === undefined) continue; // a `modified` object carries only what changed
        const n = this.value(attribute, raw);
        if (n === undefined) continue;
        const value = rule.scale === 1 ? n : n * rule.scale;
        const attributes: Attributes = { ...rule.attributes, ...identity };
        if (rule.keyAttribute) attributes[rule.keyAttribute] = mo.cls;
        let start = timeMs;
        if (rule.desc.kind === 'counter') {
          // NX-API says nothing of when a counter started: first sight, or the last time it went down.
          const k = `${mo.dn}\u0000${key}`;
          const s = this.counterState.get(k);
          if (!s) {
            if (this.counterState.size >= MAX_COUNTER_SERIES) this.counterState.delete(this.counterState.keys().next().value!);
            this.counterState.set(k, { start: timeMs, last: value });
          }
          else {
            if (value < s.last) s.start = timeMs;
            s.last = value;
            start = Math.min(s.start, timeMs);
          }
        }
        out.add(rule.desc, value, timeMs, start, attributes);
        const state = STATE_METRICS[attribute];
        if (state && typeof raw === 'string') this.gauges.points(state, `${mo.dn}\u0000${attribute}`, raw, timeMs, identity, out);
      }
    }
  }

  private value(attribute: string, raw: unknown): number | undefined {
    const n = toNumber(raw);
    if (n !== undefined || typeof raw !== 'string') return n;
    const states = STATE_VALUES[attribute];
    if (states) return states[raw] ?? 0;
    return VALUE_PARSERS[attribute]?.(raw);
  }

  /**
   * Records what an object now is; true when that is news (unknown dn, or content that differs). A
   * `modified` notification carries only what changed: it is merged into what was known.
   */
  private learn(mo: ManagedObject, status: string): boolean {
    if (status === 'deleted') return this.known.delete(mo.dn);
    const content: Record<string, string> = {};
    for (const k in mo.attrs) {
      const v = mo.attrs[k];
      if (!NOT_CONTENT.has(k) && v !== undefined && v !== null) content[k] = String(v);
    }
    const before = this.known.get(mo.dn);
    const now = status === 'modified' && before ? { ...before, ...content } : content;
    if (before && sameContent(before, now)) return false;
    if (!before && this.known.size >= MAX_KNOWN_OBJECTS) this.known.delete(this.known.keys().next().value!);
    this.known.set(mo.dn, now);
    return true;
  }

  private forget(dn: string): void {
    const prefix = `${dn}\u0000`;
    for (const k of this.counterState.keys()) if (k.startsWith(prefix)) this.counterState.delete(k);
  }

  private record(mo: ManagedObject, status: string, extra: Attributes, receivedMs: number): LogRecord {
    const attributes: Attributes = { 'nxapi.class': mo.cls, 'nxapi.dn': mo.dn, ...extra };
    if (status && status !== 'snapshot') attributes['nxapi.status'] = status;
    const iface = interfaceOf(mo.dn);
    if (iface) attributes['network.interface.name'] = iface;
    let summary = '';
    let n = 0;
    for (const k in mo.attrs) {
      if (n++ > this.limits.attributes_per_record) break; // the session cuts to the cap and counts
      const v = mo.attrs[k];
      if (NOT_CONTENT.has(k) || v === '' || v === null || v === undefined) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[`nxapi.attr.${k}`] = v;
      if (k === 'severity' || k === 'adminSt' || k === 'operSt') summary += ` ${k}=${String(v)}`;
    }
    return {
      timeMs: parseModTs(mo.attrs.modTs) ?? receivedMs,
      observedMs: receivedMs,
      ...severityByRules(summary, EVENT_SEVERITY),
      body: `${mo.cls} ${mo.dn} ${status || 'notified'}`,
      eventName: `nxapi.mo.${status || 'notification'}`,
      attributes,
    };
  }
}
