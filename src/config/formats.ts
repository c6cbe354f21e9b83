import convict from 'convict';

// Convict formats shared by every component schema. Each throws a message that reads well after the
// key path: `sources[0].channels: must be a non-empty list`.

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The largest delay a Node timer honours; a longer one fires after 1 ms, so no duration may exceed it. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** "30s", "500ms", "2m", or a number of milliseconds. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? DURATION_RE.exec(v.trim()) : null;
  if (!m) return NaN;
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const METRIC_TYPES = ['gauge', 'counter', 'updown'];
const RULE_KEYS = new Set(['path', 'metric', 'unit', 'type', 'description', 'scale', 'int', 'key_attribute', 'attributes', 'drop']);

/** Checks one field → metric rule; used for the `metrics` override blocks of every source. */
export function checkMetricRule(rule: unknown, where: string): void {
  if (!isPlainObject(rule)) throw new Error(`${where}: must be an object with path and metric`);
  for (const k of Object.keys(rule)) {
    if (!RULE_KEYS.has(k)) throw new Error(`${where}.${k}: unknown key (allowed: ${[...RULE_KEYS].join(', ')})`);
  }
  if (typeof rule.path !== 'string' || rule.path === '') throw new Error(`${where}.path: must be a non-empty string`);
  if (rule.drop === true) return;
  if (typeof rule.metric !== 'string' || !/^[A-Za-z][\w.\-/]*$/.test(rule.metric)) {
    throw new Error(`${where}.metric: must be a metric name (letters, digits, '.', '_', '-', '/')`);
  }
  if (rule.unit !== undefined && typeof rule.unit !== 'string') throw new Error(`${where}.unit: must be a UCUM unit string`);
  if (rule.type !== undefined && !METRIC_TYPES.includes(rule.type as string)) {
    throw new Error(`${where}.type: must be one of ${METRIC_TYPES.join(', ')}`);
  }
  if (rule.scale !== undefined && typeof rule.scale !== 'number') throw new Error(`${where}.scale: must be a number`);
  if (rule.path.includes('*') && rule.key_attribute === undefined) {
    throw new Error(`${where}.key_attribute: required when path has a '*' (names the attribute that gets the matched key)`);
  }
}

function checkStringMap(v: unknown): void {
  if (!isPlainObject(v)) throw new Error('must be a map of names to strings');
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string' && typeof s !== 'number' && typeof s !== 'boolean') throw new Error(`${k}: must be a string, number or boolean`);
  }
}

function checkMetricRules(v: unknown): void {
  if (!Array.isArray(v)) throw new Error('must be a list of {path, metric, unit, type} rules');
  const errors: string[] = [];
  v.forEach((r, i) => {
    try {
      checkMetricRule(r, `[${i}]`);
    } catch (err) {
      errors.push((err as Error).message);
    }
  });
  if (errors.length) throw new Error(errors.join('; '));
}

// Structured values (lists of objects, maps of options) whose shape the component's own check()
// validates with full key paths; only their outer type is checked here.
function checkOpaqueMap(v: unknown): void {
  if (!isPlainObject(v)) throw new Error('must be a map');
}

function checkOpaqueList(v: unknown): void {
  if (!Array.isArray(v)) throw new Error('must be a list');
}

/** Formats of values whose keys are data, checked outside convict (see validateComponent). */
export const OPAQUE_CHECKS: Record<string, (v: unknown) => void> = {
  'string-map': checkStringMap,
  'metric-rules': checkMetricRules,
  'opaque-map': checkOpaqueMap,
  'opaque-list': checkOpaqueList,
};

// Credentials in a URL end up wherever the URL is printed (errors, /readyz, logs); they are refused so
// that every secret sits in a key that is known to be secret (headers, token, password).
function refuseUserInfo(u: URL): void {
  if (u.username || u.password) throw new Error('must not carry credentials (user:password@): give them as a header or the token/password key');
}

/** A URL of one of two schemes, without credentials; throws a message for the key path. */
function checkUrl(v: unknown, schemes: string[], what: string): void {
  let u: URL;
  try {
    u = new URL(String(v));
  } catch {
    throw new Error(what);
  }
  if (!schemes.includes(u.protocol)) throw new Error(what);
  refuseUserInfo(u);
}

/** An http:// or https:// URL without credentials; throws a message for the key path. */
export function checkHttpUrl(v: unknown): void {
  checkUrl(v, ['http:', 'https:'], 'must be an http:// or https:// URL');
}

/** `problems` gets `key: must be between …` when a number lies outside [min, max]. */
export function checkRange(problems: string[], key: string, v: number, min: number, max = Infinity, unit = ''): void {
  if (v >= min && v <= max) return;
  const fmt = (n: number) => `${n}${unit}`;
  problems.push(`${key}: must be ${max === Infinity ? `at least ${fmt(min)}` : `between ${fmt(min)} and ${fmt(max)}`}`);
}

// Keys that reach Object.prototype when a config map is copied by assignment.
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Every `__proto__`, `constructor` or `prototype` key in the document, by path. */
export function pollutingKeys(value: unknown, path: string, problems: string[], ancestors = new Set<object>()): void {
  if (typeof value !== 'object' || value === null) return;
  // A YAML alias may name its own ancestor (`a: &x [*x]`): report it here, where every later walk would
  // otherwise recurse until the stack ran out.
  if (ancestors.has(value)) {
    problems.push(`${path || '(top level)'}: a value that contains itself (a recursive YAML alias)`);
    return;
  }
  ancestors.add(value);
  const list = Array.isArray(value);
  const proto = Object.getPrototypeOf(value);
  if (proto !== (list ? Array.prototype : Object.prototype) && proto !== null) problems.push(`${path || '(top level)'}: a map whose prototype was replaced (__proto__ key)`);
  for (const k of Object.keys(value)) {
    const at = list && /^\d+$/.test(k) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    if (POLLUTING_KEYS.has(k)) problems.push(`${at}: key not allowed (it would reach the object prototype)`);
    else pollutingKeys((value as Record<string, unknown>)[k], at, problems, ancestors);
  }
  ancestors.delete(value);
}

let registered = false;

export function registerFormats(): void {
  if (registered) return;
  registered = true;
  convict.addFormat({
    name: 'duration',
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('must be a duration such as 500ms, 30s or 2m');
      if (v > MAX_DURATION_MS) throw new Error(`must be at most ${MAX_DURATION_MS} ms (about 24.8 days)`);
    },
    coerce: parseDuration,
  });
  convict.addFormat({
    name: 'fsync-policy',
    validate(v: unknown) {
      if (v !== 'always' && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new Error('must be "always" or a period such as 1s');
      if (typeof v === 'number' && v > MAX_DURATION_MS) throw new Error(`must be at most ${MAX_DURATION_MS} ms (about 24.8 days)`);
    },
    coerce: (v: unknown) => (v === 'always' ? v : parseDuration(v)),
  });
  convict.addFormat({
    name: 'nonempty-strings',
    validate(v: unknown) {
      if (!Array.isArray(v) || v.length === 0) throw new Error('must be a non-empty list');
      v.forEach((s, i) => {
        if (typeof s !== 'string' || s === '') throw new Error(`[${i}] must be a non-empty string`);
      });
    },
  });
  convict.addFormat({
    name: 'required-string',
    validate(v: unknown) {
      if (typeof v !== 'string' || v === '') throw new Error('is required');
    },
  });
  convict.addFormat({
    name: 'ws-url',
    validate(v: unknown) {
      checkUrl(v, ['ws:', 'wss:'], 'must be a ws:// or wss:// URL');
    },
  });
  convict.addFormat({
    name: 'http-url',
    validate(v: unknown) {
      let u: URL;
      try {
        u = new URL(String(v));
      } catch {
        throw new Error('must be an http:// or https:// URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http:// or https:// URL');
      refuseUserInfo(u);
    },
  });
  convict.addFormat({
    name: 'optional-http-url',
    validate(v: unknown) {
      if (v === '') return;
      checkHttpUrl(v);
    },
  });
  convict.addFormat({ name: 'string-map', validate: checkStringMap });
  convict.addFormat({ name: 'metric-rules', validate: checkMetricRules });
  convict.addFormat({ name: 'opaque-map', validate: checkOpaqueMap });
  convict.addFormat({ name: 'opaque-list', validate: checkOpaqueList });
}
