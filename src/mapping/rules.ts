import type { Attributes, MetricDesc, MetricKind, Points } from '../model.js';
import { getPath, select, splitPath } from './path.js';

/**
 * A field → metric rule, as written in the per-vendor default tables and in a source's `metrics`
 * config block. `path` is a dotted path into the vendor payload; one `*` segment fans out over an
 * object's keys (per radio, per port), the key going into the attribute named by `key_attribute`.
 */
export interface MetricRule {
  path: string;
  metric: string;
  unit?: string;
  type?: MetricKind;
  description?: string;
  /** Multiply the vendor's value (e.g. 1024 for a field in KiB, 0.01 for percent → ratio). */
  scale?: number;
  /** Integer encoding; defaults to true for counters, false for gauges. */
  int?: boolean;
  key_attribute?: string;
  /** Constant attributes for this metric's points. */
  attributes?: Attributes;
  /** In an override block: remove the default rule for this path. */
  drop?: boolean;
}

export interface CompiledRule {
  segments: string[];
  star: number;
  /** The metric every point of this rule is a sample of. */
  desc: MetricDesc;
  scale: number;
  keyAttribute: string;
  attributes: Attributes;
}

/** Defaults first, then the user's rules: same path replaces, `drop: true` removes, new paths add. */
export function mergeRules(defaults: readonly MetricRule[], overrides: readonly MetricRule[]): MetricRule[] {
  const byPath = new Map<string, MetricRule>();
  for (const r of defaults) byPath.set(r.path, r);
  for (const r of overrides) {
    if (r.drop) byPath.delete(r.path);
    else byPath.set(r.path, r);
  }
  return [...byPath.values()];
}

export function compileRules(rules: readonly MetricRule[]): CompiledRule[] {
  return rules.map((r) => {
    const kind = r.type ?? 'gauge';
    const segments = r.path.split('.');
    return {
      segments,
      star: segments.indexOf('*'),
      desc: { name: r.metric, unit: r.unit ?? '1', description: r.description ?? '', kind, int: r.int ?? kind !== 'gauge' },
      scale: r.scale ?? 1,
      keyAttribute: r.key_attribute ?? '',
      attributes: r.attributes ?? {},
    };
  });
}

/** Plain decimal notation: what NX-API and sysadm put in their numeric strings. */
const DECIMAL_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Vendor values arrive as numbers, numeric strings (NX-API, sysadm) or booleans (port up). Strings are
 * read only in plain decimal: `Number()` would also take "0x10" (16), "0b1", "0o7" and "Infinity",
 * which no vendor means as a number.
 */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.length > 64 || !DECIMAL_RE.test(t)) return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Per rule, the attributes of each `*` key seen, built once and shared by every point of that key. */
const KEY_ATTRS_MAX = 4096;
const keyAttrCache = new WeakMap<CompiledRule, Map<string, Attributes>>();

function keyAttributes(r: CompiledRule, key: string): Attributes {
  let byKey = keyAttrCache.get(r);
  if (!byKey) keyAttrCache.set(r, (byKey = new Map()));
  let a = byKey.get(key);
  if (a === undefined) {
    a = { ...r.attributes, [r.keyAttribute]: key };
    // A frame of 100,000 distinct keys must not grow the cache past its bound: those are built per point.
    if (byKey.size < KEY_ATTRS_MAX) byKey.set(key, a);
  }
  return a;
}

function push(out: Points, r: CompiledRule, raw: unknown, timeMs: number, startTimeMs: number, attributes: Attributes): void {
  const n = toNumber(raw);
  if (n === undefined) return;
  const value = r.scale === 1 ? n : n * r.scale;
  if (!Number.isFinite(value)) return; // 1e306 KiB × 1024
  out.add(r.desc, value, timeMs, startTimeMs, attributes);
}

/**
 * Appends one point per rule whose path holds a number in `payload`. Stops once `out` holds more than
 * `max` points: a frame of 100,000 radios must cost the cap, not 700,000 points (the session sees the
 * extra point, cuts to the cap and counts the frame as too_many_points).
 */
export function extractPoints(payload: unknown, rules: readonly CompiledRule[], timeMs: number, startTimeMs: number, out: Points, max = Number.POSITIVE_INFINITY): void {
  for (const r of rules) {
    if (out.length > max) return;
    select(payload, r, (key, value) => {
      if (out.length > max) return false;
      if (value !== undefined) push(out, r, value, timeMs, startTimeMs, key === undefined ? r.attributes : keyAttributes(r, key));
      return true;
    });
  }
}

/** A payload path → resource attribute rule. */
export interface AttributeRule {
  path: string;
  attribute: string;
}

/** Each attribute rule's path, split once (rules are config and tables: a few dozen). */
const attributePaths = new WeakMap<AttributeRule, string[]>();

export function extractAttributes(payload: unknown, rules: readonly AttributeRule[], into: Attributes): Attributes {
  for (const r of rules) {
    let path = attributePaths.get(r);
    if (path === undefined) attributePaths.set(r, (path = splitPath(r.path)));
    const v = getPath(payload, path);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') into[r.attribute] = v;
  }
  return into;
}
