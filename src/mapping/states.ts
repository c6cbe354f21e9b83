import type { Attributes, MetricDesc, Points } from '../model.js';

// Enumerations as state metrics, the OpenTelemetry way (as `hw.status`): one point per known state, 1 for
// the current one and 0 for the others, the state in an attribute. So `{state="ERROR"} == 1` works and a
// change never leaves a stale series at 1. A value beyond the documented ones joins the set of its key
// (an element, a pool), so it is reported too and reported 0 once it passes; both the keys and the
// undocumented values per key are bounded, since both come from frames.

export interface StateSpec {
  metric: string;
  description: string;
  /** The attribute holding the state (default `state`). */
  attribute?: string;
  /** The documented states: always reported. */
  values: readonly string[];
}

/** Most keys remembered; past it the oldest is forgotten (its undocumented values with it). */
export const MAX_STATE_KEYS = 10_000;
/** Most undocumented values remembered per key and metric; past it the oldest is forgotten. */
export const MAX_EXTRA_STATES = 32;

export class StateGauges {
  /** Per key (element, pool…), per metric: the undocumented values seen, oldest first. */
  private readonly extra = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly maxKeys = MAX_STATE_KEYS, private readonly maxExtra = MAX_EXTRA_STATES) {}

  /** Appends one point per state of `spec` for `key` (`current` at 1, the others at 0). Returns how many. */
  points(spec: StateSpec, key: string, current: string, timeMs: number, attributes: Attributes, out: Points): number {
    if (current === '') return 0;
    let seen: ReadonlySet<string> = EMPTY;
    if (!spec.values.includes(current) || this.extra.get(key)?.get(spec.metric)?.size) seen = this.remember(spec, key, current);
    const attr = spec.attribute ?? 'state';
    const desc = descOf(spec);
    let n = 0;
    for (const v of spec.values) n += push(out, desc, attr, v, v === current, timeMs, attributes);
    for (const v of seen) n += push(out, desc, attr, v, v === current, timeMs, attributes);
    return n;
  }

  /** Keys remembered now (for tests of the bound). */
  get keys(): number {
    return this.extra.size;
  }

  private remember(spec: StateSpec, key: string, current: string): ReadonlySet<string> {
    let perKey = this.extra.get(key);
    if (!perKey) {
      if (this.extra.size >= this.maxKeys) this.extra.delete(this.extra.keys().next().value!);
      perKey = new Map();
      this.extra.set(key, perKey);
    }
    let values = perKey.get(spec.metric);
    if (!values) perKey.set(spec.metric, (values = new Set()));
    if (!spec.values.includes(current) && !values.has(current)) {
      if (values.size >= this.maxExtra) values.delete(values.values().next().value!);
      values.add(current);
    }
    return values;
  }
}

/** A spec's metric, made once per spec (specs are tables and config). */
const descs = new WeakMap<StateSpec, MetricDesc>();
function descOf(spec: StateSpec): MetricDesc {
  let d = descs.get(spec);
  if (!d) descs.set(spec, (d = { name: spec.metric, unit: '1', description: spec.description, kind: 'gauge', int: true }));
  return d;
}

function push(out: Points, desc: MetricDesc, attr: string, v: string, on: boolean, t: number, attributes: Attributes): number {
  out.add(desc, on ? 1 : 0, t, t, { ...attributes, [attr]: v });
  return 1;
}

const EMPTY: ReadonlySet<string> = new Set();
