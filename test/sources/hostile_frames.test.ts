import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type WebSocket from 'ws';
import type { Envelope } from '../../src/model.js';
import { selfMetrics } from '../../src/telemetry/metrics.js';
import { AHEAD_MS, EARLIEST_MS, type FrameLimits } from '../../src/mapping/values.js';
import { MistSource } from '../../src/sources/mist/source.js';
import { NxapiSource } from '../../src/sources/nxapi/source.js';
import { SysadmSource } from '../../src/sources/sysadm/source.js';
import { WebSocketSource } from '../../src/sources/websocket/source.js';
import { smcSource } from '../../src/sources/smc/source.js';
import type { SmcSource } from '../../src/sources/smc/source.js';
import type { CommonSourceConfig } from '../../src/sources/source.js';
import { CaptureEmitter, silentLog } from '../helpers/capture.js';
import { smcConfig } from './smc/helpers.js';
import { exampleConfig } from './websocket/harness.js';

// Property-based: random and adversarial frames through each source's real decode-and-map path, entered
// where the socket enters them (the Session's frame handler, `Session.receive`). For every frame: nothing throws out, every
// value that reaches the emitter is one a sink accepts, the frame's output stays within the caps, and
// (for data frames) the frame was either mapped or counted as rejected.

const LIMITS: FrameLimits = { points_per_frame: 40, records_per_frame: 15, envelopes_per_frame: 4, attributes_per_record: 12 };
const SITE = '0d1f2e3c-1111-2222-3333-444455556666';
const STATS = `/sites/${SITE}/stats/devices`;
const EVENTS = `/sites/${SITE}/devices`;
const RUNS = Number(process.env.WS2OTEL_FUZZ_RUNS ?? 150);
let n = 0;

function common(type: string): CommonSourceConfig {
  return {
    name: `fuzz-${type}-${++n}`, type, resource: {}, metrics: [], reconnect: { initial_interval: 20, max_interval: 100 },
    keepalive: { interval: 60_000, timeout: 45_000 }, max_frame_bytes: 16 * 1024 * 1024, tls: { ca_file: '', insecure_skip_verify: false }, limits: LIMITS,
  };
}

/** A socket stand-in for the hooks that send. */
const fakeWs = { readyState: 1, OPEN: 1, send() {}, close() {}, terminate() {} } as unknown as WebSocket;

interface Target {
  name: string;
  emitter: CaptureEmitter;
  /** The session's frame handler: the one place frames enter. */
  feed(data: Buffer): void;
}

function entry(session: unknown): (data: Buffer) => void {
  const s = session as { onMessage(data: Buffer, isBinary: boolean, ws: WebSocket): void };
  return (data) => s.onMessage(data, false, fakeWs);
}

function mist(): Target {
  const emitter = new CaptureEmitter();
  const cfg = { ...common('mist'), url: 'ws://127.0.0.1:9/x', token: 't', channels: [STATS, EVENTS] };
  const src = new MistSource(cfg as never, { emitter, log: silentLog });
  // The one Session's frame entry (the socket's own path, without a socket).
  return { name: cfg.name, emitter, feed: (data) => src.sessions[0]!.receive(data) };
}

function nxapi(): Target {
  const emitter = new CaptureEmitter();
  const cfg = {
    ...common('nxapi'), url: 'http://127.0.0.1:9', username: 'u', password: 'p', queries: ['/api/class/rmonIfIn.json'],
    subscription_refresh_interval: 60_000, token_refresh_interval: 0, request_timeout: 1000,
  };
  const src = new NxapiSource(cfg as never, { emitter, log: silentLog });
  // The one Session's frame entry (the socket's own path, without a socket).
  return { name: cfg.name, emitter, feed: (data) => src.sessions[0]!.receive(data) };
}

/** The sysadm connections opened for the fuzz: aborting their links stops their timers. */
const sysadmLinks: AbortController[] = [];
function sysadm(): Target {
  const emitter = new CaptureEmitter();
  const cfg = {
    ...common('sysadm'), url: 'wss://127.0.0.1:12150', username: 'u', password: 'p', token: '', events: ['system-state', 'dispatcher', 'life-preserver'],
    identify_interval: 300_000, poll: { interval: 0, actions: ['memorystats'] },
  };
  const src = new SysadmSource(cfg as never, { emitter, log: silentLog });
  // A connection's state, as after the socket opened: its frames are read as that connection's.
  const abort = new AbortController();
  sysadmLinks.push(abort);
  src.protocols[0]!.open({ send() {}, deliver() {}, signal: abort.signal });
  return { name: cfg.name, emitter, feed: (data) => src.sessions[0]!.receive(data) };
}

/** One of the SMC's two sockets (each a Session of its own, with its own per-frame caps; counted under the source's name). */
function smc(kind: 'status' | 'notification'): Target {
  const raw = smcConfig({ url: 'http://127.0.0.1:9', api_key: 'k', contexts: ['*'], elements: ['http://127.0.0.1:9/7.2/elements/single_fw/1'], limits: LIMITS });
  const emitter = new CaptureEmitter();
  const src = smcSource.create(raw, { emitter, log: silentLog }) as SmcSource;
  // The socket's own Session frame entry, without a socket.
  const session = src.sessions.find((s) => s.protocol.label === kind)!;
  return { name: raw.name, emitter, feed: (data) => session.receive(data) };
}

function websocket(): Target {
  const emitter = new CaptureEmitter();
  const cfg = { ...exampleConfig({ MIST_TOKEN: 't', MIST_SITE_ID: SITE }, `fuzz-websocket-${++n}`), limits: LIMITS };
  const src = new WebSocketSource(cfg, { emitter, log: silentLog });
  // The one Session's frame entry (the socket's own path, without a socket).
  return { name: cfg.name, emitter, feed: (data) => src.sessions[0]!.receive(data) };
}

after(() => {
  for (const a of sysadmLinks) a.abort();
});

// ---- hostile JSON text -----------------------------------------------------------------------------

const deep = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;
const hostileNumber = fc.constantFrom('1e999', '-1e999', '1e306', '1e20', '-1e20', '-5', '0', '9223372036854775808', '1.5', '-0', '4e-324', '123456789012345678901234567890');
const hostileString = fc.constantFrom('"0x10"', '"Infinity"', '"1e999"', '"-5"', '""', '"\\u0000"', '"107G"', '"6%"', '"up"', '"ONLINE"', '"2019-10-18T19:42:29.446+00:00"', '"never"');
const giantObject = fc.integer({ min: 50, max: 3000 }).map((k) => `{${Array.from({ length: k }, (_, i) => `"k${i}":${i % 7 === 0 ? '1e999' : i}`).join(',')}}`);
const giantList = fc.integer({ min: 20, max: 2000 }).map((k) => `[${Array.from({ length: k }, (_, i) => `{"type":"T${i}","mac":"m${i}","element":"e${i}","x":${i}}`).join(',')}]`);
const deepValue = fc.integer({ min: 1000, max: 12_000 }).map(deep);
const wrongType = fc.constantFrom('null', 'true', '[]', '{}', '"str"', '[1,2,3]', '{"a":{"b":{"c":1}}}');

/** Any JSON value's text, leaning to what breaks mappings. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileNumber },
  { weight: 2, arbitrary: hostileString },
  { weight: 2, arbitrary: wrongType },
  { weight: 1, arbitrary: giantObject },
  { weight: 1, arbitrary: giantList },
  { weight: 1, arbitrary: deepValue },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
);

/** An object's text whose keys are the vendor's field names (and some others), each holding something hostile. */
function shaped(keys: readonly string[]): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fc.constantFrom(...keys, 'other', '__proto__', 'constructor'), hostile), { maxLength: 12 })
    .map((fields) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
}

const MIST_KEYS = ['mac', 'name', 'type', 'text', 'timestamp', '_time', 'uptime', 'tx_bytes', 'rx_bytes', 'mem_used_kb', 'num_clients', 'radio_stat', 'port_stat', 'ble_stat', 'events', 'site_id'];
const mistFrame = fc.oneof(
  fc.tuple(fc.constantFrom(STATS, EVENTS), shaped(MIST_KEYS)).map(([ch, p]) => ({ text: JSON.stringify({ event: 'data', channel: ch, data: p }), data: true })),
  fc.tuple(fc.constantFrom('data', 'channel_subscribed', 'subscribe_failed', 'other'), hostile, hostile)
    .map(([ev, ch, d]) => ({ text: `{"event":"${ev}","channel":${ch},"data":${d},"detail":${d}}`, data: false })),
);

const MO_ATTRS = ['dn', 'octets', 'ucastPkts', 'errors', 'modTs', 'status', 'adminSt', 'operSt', 'operSpeed', 'mtu', 'severity'];
const moText = fc.tuple(fc.constantFrom('rmonIfIn', 'rmonIfOut', 'l1PhysIf', 'ethpmPhysIf', 'faultInst'), shaped(MO_ATTRS)).map(([c, a]) => `{"${c}":{"attributes":${a}}}`);
const nxapiFrame = fc.oneof(
  fc.tuple(fc.array(moText, { maxLength: 30 }), fc.constantFrom('["1"]', '"1"', '["1","2"]')).map(([mos, ids]) => ({ text: `{"subscriptionId":${ids},"imdata":[${mos.join(',')}]}`, data: true })),
  fc.tuple(hostile, hostile).map(([a, b]) => ({ text: `{"subscriptionId":${a},"imdata":${b}}`, data: false })),
);

const SYSADM_KEYS = ['hostname', 'zpools', 'updates', 'message', 'priority', 'state', 'time_started', 'time_finished', 'process_id', 'hostnamechanged'];
const sysadmFrame = fc.oneof(
  fc.tuple(fc.constantFrom('system-state', 'dispatcher', 'life-preserver', 'bridge', 'x'), shaped(SYSADM_KEYS))
    .map(([name, a]) => ({ text: `{"namespace":"events","name":"${name}","id":"","args":${a}}`, data: false })),
  fc.tuple(fc.constantFrom('ws2otel-1', 'ws2otel-2', 'ws2otel-3', 'zz'), hostile).map(([id, a]) => ({ text: `{"namespace":"rpc","name":"response","id":"${id}","args":${a}}`, data: false })),
);

const SMC_STATUS = ['health_in_percent', 'latency_in_ms', 'connection_count', 'monitoring_state', 'vpn_status_code', 'result', 'name', 'packet_loss_in_permyriad'];
const smcFrame = fc.oneof(
  fc.tuple(shaped(SMC_STATUS), fc.constantFrom('0', '1', '7', '-1', '1e999')).map(([s, id]) => ({ text: `{"status":{"status":${s}},"subscription_id":${id}}`, data: false })),
  fc.tuple(hostile, fc.constantFrom('0', '1')).map(([e, id]) => ({ text: `{"event":${e},"events":${e},"subscription_id":${id}}`, data: false })),
  fc.tuple(hostile, hostile).map(([a, b]) => ({ text: `{"success":${a},"failure":${b}}`, data: false })),
);

const websocketFrame = fc.tuple(fc.constantFrom(STATS, EVENTS), shaped(MIST_KEYS)).map(([ch, p]) => ({ text: JSON.stringify({ event: 'data', channel: ch, data: p }), data: false }));

/** Any frame at all, as bytes: junk, invalid UTF-8, hostile JSON. */
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ bytes: Buffer.from(b), data: false })),
  hostile.map((t) => ({ bytes: Buffer.from(t), data: false })),
);

// ---- what must hold --------------------------------------------------------------------------------

async function rejectedTotal(source: string): Promise<number> {
  const { values } = await selfMetrics.framesRejected.get();
  return values.filter((v) => v.labels.source === source).reduce((s, v) => s + v.value, 0);
}

async function valuesRejectedTotal(source: string): Promise<number> {
  const { values } = await selfMetrics.valuesRejected.get();
  return values.filter((v) => v.labels.source === source).reduce((s, v) => s + v.value, 0);
}

function assertFit(envs: readonly Envelope[], arrival: { from: number; to: number }): void {
  assert.ok(envs.length <= LIMITS.envelopes_per_frame, `${envs.length} envelopes`);
  const points = envs.reduce((s, e) => s + e.metrics.length, 0);
  const records = envs.reduce((s, e) => s + e.logs.length, 0);
  assert.ok(points <= LIMITS.points_per_frame, `${points} points`);
  assert.ok(records <= LIMITS.records_per_frame, `${records} records`);
  const plausible = (t: number) => Number.isFinite(t) && t >= EARLIEST_MS && t <= arrival.to + AHEAD_MS;
  const attrsFit = (a: Record<string, unknown>) => {
    assert.ok(Object.keys(a).length <= LIMITS.attributes_per_record, `${Object.keys(a).length} attributes`);
    for (const v of Object.values(a)) if (typeof v === 'number') assert.ok(Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v)), `attribute ${v}`);
  };
  for (const e of envs) {
    attrsFit(e.resource);
    for (const p of e.metrics) {
      assert.ok(Number.isFinite(p.value), `value ${p.value}`);
      if (p.int) assert.ok(Number.isInteger(p.value) && Math.abs(p.value) < 2 ** 63, `int ${p.value}`);
      if (p.kind === 'counter') assert.ok(p.value >= 0, `counter ${p.value}`);
      assert.ok(plausible(p.timeMs), `time ${p.timeMs}`);
      assert.ok(plausible(p.startTimeMs) && p.startTimeMs <= p.timeMs, `start ${p.startTimeMs} time ${p.timeMs}`);
      attrsFit(p.attributes);
    }
    for (const r of e.logs) {
      assert.ok(plausible(r.timeMs) && plausible(r.observedMs), `record time ${r.timeMs}`);
      assert.equal(typeof r.body, 'string');
      attrsFit(r.attributes);
    }
  }
}

async function check(t: Target, frame: { text?: string; bytes?: Buffer; data: boolean }): Promise<void> {
  const before = t.emitter.envelopes.length;
  const rejected = await rejectedTotal(t.name);
  const valuesRejected = await valuesRejectedTotal(t.name);
  const from = Date.now();
  t.feed(frame.bytes ?? Buffer.from(frame.text!)); // a throw here fails the property: none may escape
  const envs = t.emitter.envelopes.slice(before);
  assertFit(envs, { from, to: Date.now() });
  if (frame.data) {
    const counted = (await rejectedTotal(t.name)) > rejected || (await valuesRejectedTotal(t.name)) > valuesRejected;
    assert.ok(envs.length > 0 || counted, `a data frame neither mapped nor counted: ${(frame.text ?? '').slice(0, 200)}`);
  }
}

const VENDORS: [string, () => Target, fc.Arbitrary<{ text?: string; bytes?: Buffer; data: boolean }>][] = [
  ['mist', mist, mistFrame],
  ['nxapi', nxapi, nxapiFrame],
  ['sysadm', sysadm, sysadmFrame],
  ['smc status socket', () => smc('status'), smcFrame],
  ['smc notification socket', () => smc('notification'), smcFrame],
  ['websocket', websocket, websocketFrame],
];

describe('hostile frames through every source (property-based)', () => {
  for (const [vendor, make, frames] of VENDORS) {
    it(`${vendor}: no throw escapes, every value fits a sink, output stays within the caps, data frames are mapped or counted`, async () => {
      const t = make();
      await fc.assert(fc.asyncProperty(frames, (f) => check(t, f)), { numRuns: RUNS });
    });

    it(`${vendor}: junk bytes and invalid UTF-8 are counted, never thrown`, async () => {
      const t = make();
      await fc.assert(fc.asyncProperty(anyBytes, (f) => check(t, f)), { numRuns: Math.ceil(RUNS / 3) });
    });
  }
});
