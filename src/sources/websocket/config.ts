import type convict from 'convict';
import { checkHttpUrl, MAX_DURATION_MS, parseDuration } from '../../config/formats.js';
import { Severity, type SeverityName } from '../../mapping/severity.js';
import { splitPath } from '../../mapping/path.js';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';

// One `type: websocket` entry of `sources:`: a vendor described by configuration alone. The structured
// keys (login, messages, heartbeat, frames, resource_attributes) are kept out of convict (opaque-map /
// opaque-list) and checked here, by `checkWebSocket`, with their full key paths; `compileWebSocket`
// turns a checked config into what the source runs on (regular expressions, milliseconds).

/** A test on one field: `equals` a value, `matches` a regular expression, or `exists`. */
export interface ConditionSpec {
  path: string;
  equals?: string | number | boolean;
  matches?: string;
  exists?: boolean;
}

/** One condition, or a list of them that must all hold. */
export type WhenSpec = ConditionSpec | ConditionSpec[];

export interface AttributeSpec {
  path: string;
  attribute: string;
  /** Where `path` looks: in the payload (default) or in the frame around it (a channel name). */
  from?: 'payload' | 'frame';
  /** A regular expression whose first group is the value (a site id inside a channel name). */
  capture?: string;
}

export const TIME_UNITS = ['s', 'ms', 'us', 'ns', 'iso8601'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

export interface TimeSpec {
  path: string;
  unit?: TimeUnit;
  /** Where `path` looks: in the payload (default) or in the frame around it. */
  from?: 'payload' | 'frame';
}

export interface LoginSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; a map or list as JSON. String values may use {username} and {password}. */
  body?: unknown;
  /** Dotted path of the token in the JSON response: becomes {token}. */
  token_path?: string;
  /** Name of the Set-Cookie to keep ('*' for all): becomes {cookie} and the upgrade's Cookie header. */
  cookie?: string;
  timeout?: string | number;
}

export interface HeartbeatSpec {
  message: unknown;
  interval: string | number;
}

export interface LogFramesSpec {
  when?: WhenSpec;
  time?: TimeSpec;
  body_path?: string;
  severity_path?: string;
  severity_rules?: { match: string; severity: string }[];
  severity?: string;
  event_name_path?: string;
  event_name_prefix?: string;
  attributes?: AttributeSpec[];
}

export interface MetricFramesSpec {
  when?: WhenSpec;
  time?: TimeSpec;
  /** Time since the counters started (device uptime): counters' start time is the sample time minus it. */
  uptime?: TimeSpec;
}

export interface FramesSpec {
  ready?: { when: WhenSpec };
  ignore?: { when: WhenSpec };
  metrics?: MetricFramesSpec;
  logs?: LogFramesSpec;
}

/** One `type: websocket` entry of `sources:`. */
export interface WebSocketConfig extends CommonSourceConfig {
  url: string;
  headers: Record<string, string>;
  token: string;
  username: string;
  password: string;
  login: LoginSpec | Record<string, never>;
  messages: unknown[];
  heartbeat: HeartbeatSpec | Record<string, never>;
  payload: { path: string; json_string: boolean };
  frames: FramesSpec;
  resource_attributes: AttributeSpec[];
}

export function webSocketSchema(): convict.Schema<WebSocketConfig> {
  return {
    // A generic server promises nothing: ping every 30 s, call the socket dead after 30 s without a pong.
    ...commonSourceSchema('websocket', { interval: '30s', timeout: '30s' }),
    url: { doc: 'ws:// or wss:// URL; may contain {token} (inserted as is)', format: 'ws-url', default: '' },
    headers: {
      doc: 'Headers of the upgrade request; values may use ${ENV}, {token}, {cookie}, {username}, {password}',
      format: 'string-map',
      default: {},
      sensitive: true,
    },
    token: { doc: 'A static token for {token} when there is no login (or token_file)', format: String, default: '', sensitive: true },
    username: { doc: 'For {username} in login.body and login.headers', format: String, default: '' },
    password: { doc: 'For {password} in login.body and login.headers (or password_file)', format: String, default: '', sensitive: true },
    login: { doc: 'HTTP login before every connection: {url, method, headers, body, token_path, cookie, timeout}', format: 'opaque-map', default: {} },
    messages: { doc: 'Messages sent after the socket opens (strings as is, maps and lists as JSON)', format: 'opaque-list', default: [] },
    heartbeat: { doc: 'An application message sent every interval while connected: {message, interval}', format: 'opaque-map', default: {} },
    payload: {
      path: { doc: 'Dotted path of the payload inside a frame; empty: the frame is the payload', format: String, default: '' },
      json_string: { doc: 'The payload is a string holding JSON (as Mist sends it)', format: Boolean, default: false },
    },
    frames: { doc: 'Which frames are what: {ready, ignore, metrics, logs}', format: 'opaque-map', default: {} },
    resource_attributes: { doc: 'Payload paths → resource attributes: [{path, attribute, from, capture}]', format: 'opaque-list', default: [] },
  };
}

// ---- checking ------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PATH_RE = /^[^.\s]+(\.[^.\s]+)*$/;
const TEMPLATE_RE = /\{(token|cookie|username|password)\}/g;
const SEVERITIES = Object.keys(Severity);

class Checker {
  readonly problems: string[] = [];

  add(where: string, problem: string): void {
    this.problems.push(`${where}: ${problem}`);
  }

  keys(v: Obj, where: string, allowed: string[]): void {
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.add(`${where}.${k}`, `unknown key (allowed: ${allowed.join(', ')})`);
  }

  map(v: unknown, where: string, allowed: string[]): v is Obj {
    if (!isObj(v)) {
      this.add(where, 'must be a map');
      return false;
    }
    this.keys(v, where, allowed);
    return true;
  }

  path(v: unknown, where: string, required = true): void {
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || !PATH_RE.test(v)) this.add(where, 'must be a dotted path such as data or stats.cpu (no spaces, no empty segments)');
  }

  regex(v: unknown, where: string): void {
    if (typeof v !== 'string' || v === '') return this.add(where, 'must be a regular expression');
    try {
      new RegExp(v);
    } catch (err) {
      this.add(where, `not a valid regular expression (${(err as Error).message})`);
    }
  }

  string(v: unknown, where: string, required = false): void {
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v === '') this.add(where, 'must be a non-empty string');
  }

  duration(v: unknown, where: string, minMs = 1): void {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms) || ms <= 0) this.add(where, 'must be a duration above zero such as 500ms, 30s or 2m');
    else if (ms < minMs || ms > MAX_DURATION_MS) this.add(where, `must be between ${minMs} ms and ${MAX_DURATION_MS} ms`);
  }

  condition(v: unknown, where: string): void {
    if (!this.map(v, where, ['path', 'equals', 'matches', 'exists'])) return;
    this.path(v.path, `${where}.path`);
    const tests = ['equals', 'matches', 'exists'].filter((k) => v[k] !== undefined);
    if (tests.length !== 1) return this.add(where, 'must have exactly one of equals, matches, exists');
    if (v.equals !== undefined && !['string', 'number', 'boolean'].includes(typeof v.equals)) this.add(`${where}.equals`, 'must be a string, number or boolean');
    if (v.matches !== undefined) this.regex(v.matches, `${where}.matches`);
    if (v.exists !== undefined && typeof v.exists !== 'boolean') this.add(`${where}.exists`, 'must be true or false');
  }

  when(v: unknown, where: string): void {
    if (Array.isArray(v)) {
      if (v.length === 0) this.add(where, 'must be a condition or a non-empty list of conditions');
      v.forEach((c, i) => this.condition(c, `${where}[${i}]`));
    } else {
      this.condition(v, where);
    }
  }

  time(v: unknown, where: string, units: readonly string[] = TIME_UNITS): void {
    if (v === undefined || !this.map(v, where, ['path', 'unit', 'from'])) return;
    this.path(v.path, `${where}.path`);
    if (v.from !== undefined && v.from !== 'payload' && v.from !== 'frame') this.add(`${where}.from`, 'must be payload or frame');
    if (v.unit !== undefined && !units.includes(v.unit as string)) this.add(`${where}.unit`, `must be one of ${units.join(', ')}`);
  }

  attributes(v: unknown, where: string): void {
    if (v === undefined) return;
    if (!Array.isArray(v)) return this.add(where, 'must be a list of {path, attribute} rules');
    v.forEach((a, i) => {
      const w = `${where}[${i}]`;
      if (!this.map(a, w, ['path', 'attribute', 'from', 'capture'])) return;
      this.path(a.path, `${w}.path`);
      this.string(a.attribute, `${w}.attribute`, true);
      if (a.from !== undefined && a.from !== 'payload' && a.from !== 'frame') this.add(`${w}.from`, 'must be payload or frame');
      if (a.capture !== undefined) {
        this.regex(a.capture, `${w}.capture`);
        if (typeof a.capture === 'string' && !/\((?!\?)/.test(a.capture)) this.add(`${w}.capture`, 'must have a capturing group: its first group is the value');
      }
    });
  }
}

/** Every `{name}` a template string uses. */
function templatesIn(v: unknown, out = new Set<string>()): Set<string> {
  if (typeof v === 'string') for (const m of v.matchAll(TEMPLATE_RE)) out.add(m[1]!);
  else if (Array.isArray(v)) v.forEach((x) => templatesIn(x, out));
  else if (isObj(v)) Object.values(v).forEach((x) => templatesIn(x, out));
  return out;
}

/** Cross-field and structure checks; problems as `key.path: message`. */
export function checkWebSocket(c: WebSocketConfig): string[] {
  const ck = new Checker();
  if (!c.url) ck.add('url', 'is required');

  const login = c.login as Obj;
  const hasLogin = Object.keys(login).length > 0;
  if (hasLogin && ck.map(login, 'login', ['url', 'method', 'headers', 'body', 'token_path', 'cookie', 'timeout'])) {
    try {
      checkHttpUrl(login.url);
    } catch (err) {
      ck.add('login.url', (err as Error).message);
    }
    if (login.method !== undefined && !['GET', 'POST', 'PUT'].includes(String(login.method).toUpperCase())) ck.add('login.method', 'must be GET, POST or PUT');
    if (login.headers !== undefined) {
      if (!isObj(login.headers)) ck.add('login.headers', 'must be a map of names to strings');
      else for (const [k, v] of Object.entries(login.headers)) if (typeof v !== 'string') ck.add(`login.headers.${k}`, 'must be a string');
    }
    if (login.body !== undefined && typeof login.body !== 'string' && typeof login.body !== 'object') ck.add('login.body', 'must be a string, a map or a list');
    if (login.token_path === undefined && login.cookie === undefined) ck.add('login', 'needs token_path, cookie or both: what the login yields');
    ck.path(login.token_path, 'login.token_path', false);
    ck.string(login.cookie, 'login.cookie');
    if (login.timeout !== undefined) ck.duration(login.timeout, 'login.timeout');
    for (const name of templatesIn([login.body, login.headers])) {
      if (name === 'token' || name === 'cookie') ck.add('login', `{${name}} cannot be used in the login request that yields it`);
    }
  }

  c.messages.forEach((m, i) => {
    if (typeof m === 'string' ? m === '' : typeof m !== 'object' || m === null) ck.add(`messages[${i}]`, 'must be a non-empty string, a map or a list');
  });

  const hb = c.heartbeat as Obj;
  if (Object.keys(hb).length > 0 && ck.map(hb, 'heartbeat', ['message', 'interval'])) {
    if (typeof hb.message === 'string' ? hb.message === '' : typeof hb.message !== 'object' || hb.message === null) {
      ck.add('heartbeat.message', 'must be a non-empty string, a map or a list');
    }
    ck.duration(hb.interval, 'heartbeat.interval', 100);
  }

  if (c.payload.path !== '') ck.path(c.payload.path, 'payload.path');

  const f = c.frames as Obj;
  ck.keys(f, 'frames', ['ready', 'ignore', 'metrics', 'logs']);
  for (const k of ['ready', 'ignore'] as const) {
    if (f[k] !== undefined && ck.map(f[k], `frames.${k}`, ['when'])) {
      if ((f[k] as Obj).when === undefined) ck.add(`frames.${k}.when`, 'is required');
      else ck.when((f[k] as Obj).when, `frames.${k}.when`);
    }
  }
  if (f.metrics !== undefined && ck.map(f.metrics, 'frames.metrics', ['when', 'time', 'uptime'])) {
    const m = f.metrics as Obj;
    if (m.when !== undefined) ck.when(m.when, 'frames.metrics.when');
    ck.time(m.time, 'frames.metrics.time');
    ck.time(m.uptime, 'frames.metrics.uptime', ['s', 'ms']);
  }
  const logKeys = ['when', 'time', 'body_path', 'severity_path', 'severity_rules', 'severity', 'event_name_path', 'event_name_prefix', 'attributes'];
  if (f.logs !== undefined && ck.map(f.logs, 'frames.logs', logKeys)) {
    const l = f.logs as Obj;
    if (l.when !== undefined) ck.when(l.when, 'frames.logs.when');
    ck.time(l.time, 'frames.logs.time');
    ck.path(l.body_path, 'frames.logs.body_path', false);
    ck.path(l.severity_path, 'frames.logs.severity_path', false);
    ck.path(l.event_name_path, 'frames.logs.event_name_path', false);
    if (l.event_name_prefix !== undefined && typeof l.event_name_prefix !== 'string') ck.add('frames.logs.event_name_prefix', 'must be a string');
    if (l.severity !== undefined && !SEVERITIES.includes(String(l.severity).toUpperCase())) ck.add('frames.logs.severity', `must be one of ${SEVERITIES.join(', ')}`);
    if (l.severity_rules !== undefined) {
      if (!Array.isArray(l.severity_rules)) ck.add('frames.logs.severity_rules', 'must be a list of {match, severity}');
      else {
        l.severity_rules.forEach((r, i) => {
          const w = `frames.logs.severity_rules[${i}]`;
          if (!ck.map(r, w, ['match', 'severity'])) return;
          ck.regex(r.match, `${w}.match`);
          if (!SEVERITIES.includes(String(r.severity).toUpperCase())) ck.add(`${w}.severity`, `must be one of ${SEVERITIES.join(', ')}`);
        });
      }
    }
    ck.attributes(l.attributes, 'frames.logs.attributes');
  }
  ck.attributes(c.resource_attributes, 'resource_attributes');

  if (c.metrics.length === 0 && f.logs === undefined) ck.add('metrics', 'a websocket source has no default rules: give metrics rules, frames.logs, or both');

  // Templates must have something to fill them.
  const login2 = hasLogin ? (login as unknown as LoginSpec) : undefined;
  const sources: Record<string, boolean> = {
    token: !!c.token || !!login2?.token_path,
    cookie: !!login2?.cookie,
    username: !!c.username,
    password: !!c.password,
  };
  const uses: [string, unknown][] = [['url', c.url], ['messages', c.messages], ['heartbeat.message', (hb as Obj).message]];
  for (const [k, v] of Object.entries(c.headers)) uses.push([`headers.${k}`, v]);
  if (login2) uses.push(['login', [login2.body, login2.headers]]);
  for (const [where, v] of uses) {
    for (const name of templatesIn(v)) {
      if (sources[name]) continue;
      const from = name === 'token' ? 'token or login.token_path' : name === 'cookie' ? 'login.cookie' : name;
      ck.add(where, `uses {${name}} but ${from} is not set`);
    }
  }
  return ck.problems;
}

// ---- compiled form -------------------------------------------------------------------------------

export interface Condition {
  path: string[];
  test: (v: unknown) => boolean;
}

export interface CompiledAttribute {
  path: string[];
  attribute: string;
  fromFrame: boolean;
  capture: RegExp | undefined;
}

export interface CompiledTime {
  path: string[];
  unit: TimeUnit;
  fromFrame: boolean;
}

export interface CompiledWebSocket {
  payloadPath: string[];
  jsonString: boolean;
  ready: Condition[] | undefined;
  ignore: Condition[] | undefined;
  /** undefined: no metrics frames (no metrics rules). */
  metrics: { when: Condition[]; time: CompiledTime | undefined; uptime: CompiledTime | undefined } | undefined;
  logs:
    | {
        when: Condition[];
        time: CompiledTime | undefined;
        bodyPath: string[] | undefined;
        severityPath: string[] | undefined;
        severityRules: { match: RegExp; severity: SeverityName }[];
        severity: SeverityName;
        eventNamePath: string[] | undefined;
        eventNamePrefix: string;
        attributes: CompiledAttribute[];
      }
    | undefined;
  resourceAttributes: CompiledAttribute[];
  heartbeat: { message: unknown; intervalMs: number } | undefined;
  login: (LoginSpec & { method: string; timeoutMs: number }) | undefined;
}

export { splitPath };

function scalarText(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

function compileWhen(w: WhenSpec | undefined): Condition[] {
  if (w === undefined) return [];
  return (Array.isArray(w) ? w : [w]).map((c) => {
    const path = splitPath(c.path);
    if (c.matches !== undefined) {
      const re = new RegExp(c.matches);
      return { path, test: (v) => { const s = scalarText(v); return s !== undefined && re.test(s); } };
    }
    if (c.exists !== undefined) {
      const want = c.exists;
      return { path, test: (v) => (v !== undefined && v !== null) === want };
    }
    const want = String(c.equals);
    return { path, test: (v) => scalarText(v) === want };
  });
}

function compileTime(t: TimeSpec | undefined, unit: TimeUnit): CompiledTime | undefined {
  return t ? { path: splitPath(t.path), unit: t.unit ?? unit, fromFrame: t.from === 'frame' } : undefined;
}

function compileAttributes(list: AttributeSpec[] | undefined): CompiledAttribute[] {
  return (list ?? []).map((a) => ({
    path: splitPath(a.path),
    attribute: a.attribute,
    fromFrame: a.from === 'frame',
    capture: a.capture ? new RegExp(a.capture) : undefined,
  }));
}

/** A checked config → what the source runs on. */
export function compileWebSocket(c: WebSocketConfig): CompiledWebSocket {
  const f = c.frames;
  const l = f.logs;
  const hb = c.heartbeat as Partial<HeartbeatSpec>;
  const login = c.login as Partial<LoginSpec>;
  return {
    payloadPath: splitPath(c.payload.path),
    jsonString: c.payload.json_string,
    ready: f.ready ? compileWhen(f.ready.when) : undefined,
    ignore: f.ignore ? compileWhen(f.ignore.when) : undefined,
    metrics: c.metrics.length
      ? { when: compileWhen(f.metrics?.when), time: compileTime(f.metrics?.time, 's'), uptime: compileTime(f.metrics?.uptime, 's') }
      : undefined,
    logs: l
      ? {
          when: compileWhen(l.when),
          time: compileTime(l.time, 's'),
          bodyPath: l.body_path ? splitPath(l.body_path) : undefined,
          severityPath: l.severity_path ? splitPath(l.severity_path) : undefined,
          severityRules: (l.severity_rules ?? []).map((r) => ({ match: new RegExp(r.match), severity: r.severity.toUpperCase() as SeverityName })),
          severity: (l.severity?.toUpperCase() ?? 'INFO') as SeverityName,
          eventNamePath: l.event_name_path ? splitPath(l.event_name_path) : undefined,
          eventNamePrefix: l.event_name_prefix ?? '',
          attributes: compileAttributes(l.attributes),
        }
      : undefined,
    resourceAttributes: compileAttributes(c.resource_attributes),
    heartbeat: hb.interval !== undefined ? { message: hb.message, intervalMs: parseDuration(hb.interval) } : undefined,
    login: login.url
      ? { ...(login as LoginSpec), method: (login.method ?? 'POST').toUpperCase(), timeoutMs: login.timeout !== undefined ? parseDuration(login.timeout) : 30_000 }
      : undefined,
  };
}
