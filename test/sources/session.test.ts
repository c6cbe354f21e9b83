import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Points, type Envelope } from '../../src/model.js';
import type { Attributes } from '../../src/model.js';
import type { FrameInfo, Link, Meaning, Opening, Protocol } from '../../src/sources/protocol.js';
import { ProtocolSource, GAP_EVENT, UP_METRIC } from '../../src/sources/protocol_source.js';
import type { CommonSourceConfig } from '../../src/sources/source.js';
import { sourceMetrics } from '../../src/telemetry/metrics.js';
import { RETIRED_MAX, SecretScope, retired } from '../../src/telemetry/secrets.js';
import { forgetSecret, registerSecret, scrub } from '../../src/telemetry/logger.js';
import { webSocketSource } from '../../src/sources/websocket/source.js';
import { GenericSimulator } from '../../src/simulators/websocket.js';
import { CaptureEmitter, metricValue, seriesCount, silentLog, sourceConfig } from '../helpers/capture.js';
import { FakeClock, HeldClock } from '../helpers/clock.js';
import { FrameServer } from '../helpers/frame_server.js';
import { waitFor } from '../helpers/net.js';
import { AuthError, LockoutSuspected } from '../../src/net/errors.js';

// The one Session (src/sources/session.ts) around a probe protocol, through a ProtocolSource, against a
// bare local WebSocket server: what the session does with each kind of Meaning, and nothing vendor-specific.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let n = 0;
function common(over: Partial<CommonSourceConfig> = {}): CommonSourceConfig {
  return {
    name: `session-${++n}`, type: 'test', resource: {}, metrics: [], reconnect: { initial_interval: 50, max_interval: 100 },
    keepalive: { interval: 60_000, timeout: 45_000 }, max_frame_bytes: 1024 * 1024, tls: { ca_file: '', insecure_skip_verify: false }, ...over,
  };
}

function point(value: number, receivedMs: number): Envelope {
  return {
    source: 'probe', resource: { 'service.name': 'probe' }, scope: { name: 'probe', version: '0' }, logs: [], receivedMs,
    metrics: Points.of([{ name: 'probe.value', unit: '1', description: '', kind: 'gauge', int: false, value, timeMs: receivedMs, startTimeMs: receivedMs, attributes: {} }]),
  };
}

/**
 * Frames: `{data: n}` → one point; `{ack: name, ok, why}` → an ack; `{empty: true}` → an empty Meaning;
 * `{throw: true}` → a throw; anything else → a rejection `probe_unknown`.
 */
class ProbeProtocol implements Protocol {
  readonly seen: unknown[] = [];
  readonly resubscribed: string[] = [];
  /** Refuse the next logins (as a vendor refusing a credential), or suspect a lockout. */
  refuse: boolean | 'lockout' = false;
  constructor(private readonly url: () => string, private readonly expect: string[] = []) {}

  async connect() {
    if (this.refuse === 'lockout') throw new LockoutSuspected('closed at once, before any reply');
    if (this.refuse) throw new AuthError('login refused with HTTP 401', 401);
    return { url: this.url(), headers: {} };
  }

  open(): Opening {
    return { send: this.expect.map((name) => JSON.stringify({ subscribe: name })), expect: this.expect };
  }

  frame(v: unknown, info: FrameInfo): Meaning {
    this.seen.push(v);
    const f = v as Record<string, unknown>;
    if (f.throw) throw new TypeError('probe mapping broke');
    if (f.empty) return {};
    if (typeof f.data === 'number') return { envelopes: [point(f.data, info.receivedMs)] };
    if (typeof f.ack === 'string') return { acks: [{ name: f.ack, ok: f.ok !== false, ...(typeof f.why === 'string' ? { detail: f.why } : {}) }] };
    return { rejects: [{ reason: 'probe_unknown' }] };
  }

  resubscribe(name: string, _link: Link): Meaning {
    this.resubscribed.push(name);
    return { send: [JSON.stringify({ subscribe: name })] };
  }

  resource(): Attributes {
    return { 'service.name': 'probe' };
  }
}

/** A server, a probe source on it with a fresh registry, started; `answer` decides the server's reply to a subscribe. */
async function rig(opts: { expect?: string[]; answer?: (name: string) => object | undefined; cfg?: Partial<CommonSourceConfig>; clock?: FakeClock | HeldClock; refuse?: ProbeProtocol['refuse'] } = {}) {
  const server = new FrameServer((msg, ws) => {
    const name = (msg as { subscribe?: unknown }).subscribe;
    if (typeof name !== 'string') return;
    const reply = opts.answer ? opts.answer(name) : { ack: name };
    if (reply) ws.send(JSON.stringify(reply));
  });
  await server.start();
  const emitter = new CaptureEmitter();
  const metrics = sourceMetrics(new Registry());
  const protocol = new ProbeProtocol(() => server.url, opts.expect);
  protocol.refuse = opts.refuse ?? false;
  const cfg = common(opts.cfg);
  const source = new ProtocolSource(cfg, { emitter, log: silentLog, metrics, clock: opts.clock ?? new FakeClock(), secrets: new SecretScope('test') }, [protocol]);
  cleanups.push(() => server.stop(), () => source.stop());
  source.start();
  return { server, emitter, metrics, protocol, source, name: cfg.name };
}

describe('Session: decoding once', () => {
  it('strips NUL bytes from the whole frame before parsing it, not only inside strings', async () => {
    const { server, protocol, metrics, name, emitter } = await rig();
    await waitFor('established', () => server.sockets.length > 0);
    await server.send(Buffer.from('{"data":\u0000 7,\u0000"label":"a\u0000b"}\u0000'));
    await waitFor('mapped', () => emitter.points().length === 1);
    assert.deepEqual(protocol.seen, [{ data: 7, label: 'ab' }]);
    assert.equal(await metricValue(metrics.framesRejected, { source: name }), 0);
  });

  it('counts a frame that is not JSON as malformed_json and reads on', async () => {
    const { server, metrics, name, emitter } = await rig();
    await waitFor('socket', () => server.sockets.length > 0);
    await server.send(Buffer.from('{"data": 1'));
    await server.send({ data: 2 });
    await waitFor('the next frame mapped', () => emitter.points().length === 1);
    assert.equal(await metricValue(metrics.framesRejected, { source: name, reason: 'malformed_json' }), 1);
  });
});

describe('Session: acting on what a frame meant', () => {
  it('counts an empty Meaning as unmapped, the one rule for every vendor, and reads on', async () => {
    const { server, metrics, name, emitter } = await rig();
    await waitFor('socket', () => server.sockets.length > 0);
    await server.send({ empty: true });
    await server.send({ empty: true });
    await server.send({ data: 3 });
    await waitFor('the next frame mapped', () => emitter.points().length === 1);
    assert.equal(await metricValue(metrics.framesRejected, { source: name, reason: 'unmapped' }), 2);
    assert.equal(await metricValue(metrics.framesRejected, { source: name }), 2);
  });

  it('a protocol that throws costs one counted mapping_error and the stream goes on on the same socket', async () => {
    const { server, metrics, name, emitter } = await rig();
    await waitFor('socket', () => server.sockets.length > 0);
    await server.send({ throw: true });
    await server.send({ data: 4 });
    await waitFor('the next frame mapped', () => emitter.points().length === 1);
    assert.equal(await metricValue(metrics.framesRejected, { source: name, reason: 'mapping_error' }), 1);
    assert.equal(await metricValue(metrics.framesRejected, { source: name }), 1);
    assert.equal(server.connections, 1, 'the socket was kept');
  });

  it("counts the protocol's own rejections by their reason", async () => {
    const { server, metrics, name } = await rig();
    await waitFor('socket', () => server.sockets.length > 0);
    await server.send({ what: 'is this' });
    await waitFor('counted', async () => (await metricValue(metrics.framesRejected, { source: name, reason: 'probe_unknown' })) === 1);
  });
});

describe('Session: subscriptions', () => {
  it('is established at open when the protocol expects no subscription', async () => {
    const { source } = await rig();
    await waitFor('established', () => source.status().connected);
    assert.equal(source.status().detail, 'subscribed');
  });

  it('names an unanswered subscription in /readyz status and asks for it again on the slow schedule while the others flow', async () => {
    const clock = new HeldClock();
    let answerB = false;
    const { server, source, emitter, metrics, protocol, name } = await rig({
      expect: ['a', 'b'], clock, cfg: { subscribe_timeout: 1000, resubscribe_interval: 5000 },
      answer: (sub) => (sub === 'a' || answerB ? { ack: sub } : undefined),
    });
    await waitFor('established by the first answer', () => source.status().connected);
    await waitFor('b failed after its deadline', () => /failed: b/.test(source.status().detail));
    assert.equal(source.status().detail, 'subscribed 1/2; failed: b (no answer within 1 s)');
    assert.deepEqual(clock.sleeps, [5000], 'one slow wait of resubscribe_interval');
    assert.equal(await metricValue(metrics.subscriptionUp, { source: name, subscription: 'a' }), 1);
    assert.equal(await metricValue(metrics.subscriptionUp, { source: name, subscription: 'b' }), 0);
    assert.equal(await metricValue(metrics.subscriptions, { source: name, state: 'failed' }), 1);
    await server.send({ data: 1 });
    await waitFor('data flows meanwhile', () => emitter.points().length === 1);
    assert.deepEqual(protocol.resubscribed, []);

    answerB = true;
    clock.release();
    await waitFor('b asked for again and answered', () => source.status().detail === 'subscribed');
    assert.deepEqual(protocol.resubscribed, ['b']);
    assert.equal(server.connections, 1, 'the healthy subscription and its socket were left alone');
    assert.equal(await metricValue(metrics.subscriptionUp, { source: name, subscription: 'b' }), 1);
    const gaps = emitter.health().flatMap((e) => e.logs);
    assert.equal(gaps.length, 1, 'a failed subscription is a gap: the source saw only part of what it asked for');
    assert.equal(gaps[0]!.attributes['ws2otel.gap.cause'], 'resubscribing');
  });

  it('asks again for a refused subscription on a doubling schedule and shows the refusal', async () => {
    const clock = new HeldClock();
    const { source, protocol } = await rig({
      expect: ['a', 'b'], clock, cfg: { resubscribe_interval: 5000 },
      answer: (sub) => (sub === 'a' ? { ack: sub } : { ack: sub, ok: false, why: 'no such channel' }),
    });
    await waitFor('b refused', () => /failed: b/.test(source.status().detail));
    assert.equal(source.status().detail, 'subscribed 1/2; failed: b (refused: no such channel)');
    clock.release();
    await waitFor('asked again and refused again', () => clock.sleeps.length === 2);
    assert.deepEqual(clock.sleeps, [5000, 10000]);
    assert.deepEqual(protocol.resubscribed, ['b']);
  });

  it('shows a refusal in /readyz without the secret a server echoed in it, cut short and on one line', async () => {
    const secret = 'sess-token-5e1f0c9a';
    registerSecret(secret);
    try {
      const { source } = await rig({
        expect: ['a'], cfg: { resubscribe_interval: 5000 }, clock: new HeldClock(),
        answer: (sub) => ({ ack: sub, ok: false, why: `bad token ${secret}\n${'x'.repeat(500)}` }),
      });
      await waitFor('refused', () => /refused/.test(source.status().detail));
      const detail = source.status().detail;
      assert.ok(!detail.includes(secret), detail);
      assert.match(detail, /^subscribed 0\/1; failed: a \(refused: bad token \[REDACTED\] x+…\)$/);
      assert.ok(detail.length < 300);
    } finally {
      forgetSecret(secret);
    }
  });

  it('counts an ack for a name never expected and grows nothing', async () => {
    const { server, source, metrics, name } = await rig({ expect: ['a', 'b'] });
    await waitFor('subscribed', () => source.status().detail === 'subscribed');
    for (let i = 0; i < 50; i++) await server.send({ ack: `/stray/${i}` });
    await waitFor('all counted', async () => (await metricValue(metrics.framesRejected, { source: name, reason: 'unknown_subscription' })) === 50);
    assert.equal(source.sessions[0]!.subscriptions().length, 2);
    assert.equal(await seriesCount(metrics.subscriptionUp, { source: name }), 2);
    assert.equal(source.status().detail, 'subscribed');
  });

  it('puts every subscription back to pending when its connection closes, and active again after the new one answers', async () => {
    const clock = new HeldClock();
    const { server, source, metrics, name, protocol } = await rig({ expect: ['a', 'b'], clock });
    await waitFor('subscribed', () => source.status().detail === 'subscribed');
    assert.equal(await metricValue(metrics.subscriptions, { source: name, state: 'active' }), 2);
    // Held between connections: the next login is refused and its slow wait lasts until released.
    protocol.refuse = true;
    server.sockets[0]!.terminate();
    await waitFor('between connections', () => source.status().problem === 'auth');
    assert.deepEqual(source.sessions[0]!.subscriptions().map((v) => v.state), ['pending', 'pending']);
    assert.equal(await metricValue(metrics.subscriptions, { source: name, state: 'active' }), 0);
    assert.equal(await metricValue(metrics.subscriptionUp, { source: name }), 0);
    protocol.refuse = false;
    clock.release();
    await waitFor('subscribed again', () => source.status().detail === 'subscribed' && server.connections === 2);
    assert.equal(await metricValue(metrics.subscriptions, { source: name, state: 'active' }), 2);
    assert.equal(await metricValue(metrics.subscriptionUp, { source: name }), 2);
  });
});

describe('Session: slow schedules', () => {
  it('counts a refused login as an auth failure, but a suspected lockout only as a lockout wait', async () => {
    const clock = new HeldClock();
    const { source, metrics, name, protocol } = await rig({ clock, refuse: 'lockout' });
    await waitFor('waiting on the lockout schedule', () => source.status().problem === 'lockout');
    assert.equal(await metricValue(metrics.authFailures, { source: name }), 0);
    assert.equal(await metricValue(metrics.connectFailures, { source: name, reason: 'lockout' }), 1);
    assert.equal(source.blind(), 'lockout');
    protocol.refuse = true;
    clock.release();
    await waitFor('waiting on the auth schedule', () => source.status().problem === 'auth');
    assert.equal(await metricValue(metrics.authFailures, { source: name }), 1);
    assert.equal(source.blind(), 'auth');
  });
});

describe('Session: learnt secrets', () => {
  it('forgets the secrets a login learnt when its session ends: the set stays bounded over many re-logins', async () => {
    const sim = new GenericSimulator({ username: 'svc', password: 'pw-1234567', intervalMs: 50 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const scope = new SecretScope('source:relogin');
    const cfg = sourceConfig(webSocketSource, {
      url: sim.url, username: 'svc', password: 'pw-1234567',
      login: { url: `${sim.base}/api/login`, body: { username: '{username}', password: '{password}' }, token_path: 'session.token' },
      headers: { Authorization: 'Bearer {token}' },
      messages: [{ op: 'subscribe', topics: ['metrics'] }],
      frames: { metrics: { when: { path: 'type', equals: 'metric' } } },
      payload: { path: 'payload' },
      metrics: [{ path: 'cpu.util', metric: 'lab.cpu.utilization', unit: '%' }],
    });
    const source = webSocketSource.create(cfg, { emitter: new CaptureEmitter(), log: silentLog, metrics: sourceMetrics(new Registry()), secrets: scope });
    cleanups.push(() => source.stop());
    source.start();
    const tokens: string[] = [];
    for (let i = 0; i < 8; i++) {
      await waitFor(`login ${i + 1}`, () => sim.logins > i && source.status().connected);
      const token = [...scope].find((s) => s !== 'pw-1234567' && !s.startsWith('Bearer'));
      if (token && !tokens.includes(token)) tokens.push(token);
      sim.closeAll(1012, 'restart');
      await waitFor('down', () => !source.status().connected || sim.logins > i + 1);
    }
    assert.ok(tokens.length >= 2, `several logins learnt tokens (${tokens.length})`);
    assert.ok(scope.size <= 3, `scope holds ${scope.size} values after 8 logins`);
    assert.ok(scope.sessions <= 1, `${scope.sessions} live login scopes`);
    const old = tokens[0]!;
    assert.ok(![...scope].includes(old), 'the first login\'s token is forgotten');
    // Data carrying it may outlive its session (buffers, dead letters): the scrub keeps a bounded set of ended sessions' values.
    assert.equal(scrub(`token ${old}`), 'token [REDACTED]', 'an ended session\'s token is still scrubbed while recently retired');
    assert.ok(retired().size <= RETIRED_MAX, 'and what the scrub keeps of ended sessions is bounded');
    await source.stop();
    assert.equal(scope.sessions, 0, 'stop ends the last login');
  });
});

describe('ProtocolSource: gap signals', () => {
  it('emits up 0 then 1, and on a reconnect up 0, up 1 and one gap record with start, end, duration and cause', async () => {
    const { server, emitter, source } = await rig();
    await waitFor('up', () => source.status().connected);
    const ups = () => emitter.health().flatMap((e) => e.metrics.toArray()).filter((p) => p.name === UP_METRIC).map((p) => p.value);
    const gaps = () => emitter.health().flatMap((e) => e.logs).filter((r) => r.eventName === GAP_EVENT);
    assert.deepEqual(ups(), [0, 1]);
    assert.equal(gaps().length, 0, 'the first connection is no gap');
    server.sockets[0]!.close(1012, 'restart');
    await waitFor('back up', () => ups().length >= 4);
    assert.deepEqual(ups(), [0, 1, 0, 1]);
    const [gap] = gaps();
    assert.equal(gaps().length, 1);
    assert.equal(gap!.attributes['ws2otel.gap.cause'], 'closed');
    const start = Date.parse(String(gap!.attributes['ws2otel.gap.start']));
    const end = Date.parse(String(gap!.attributes['ws2otel.gap.end']));
    assert.ok(end >= start);
    assert.equal(gap!.attributes['ws2otel.gap.duration'], (end - start) / 1000);
    const env = emitter.health().find((e) => e.logs.length)!;
    assert.equal(env.resource['ws2otel.source.name'], source.name);
    assert.equal(env.resource['service.name'], 'probe');
  });

  it('records the causes of a gap in order: closed, then auth while the login was refused, with the slow wait in its duration', async () => {
    const clock = new HeldClock();
    const { server, emitter, source, protocol } = await rig({ clock });
    await waitFor('up', () => source.status().connected);
    protocol.refuse = true;
    server.sockets[0]!.close(1012, 'restart');
    await waitFor('waiting on the auth schedule', () => source.status().problem === 'auth');
    assert.equal(source.blind(), 'auth');
    assert.deepEqual(clock.sleeps, [60_000]);
    const ups = () => emitter.health().flatMap((e) => e.metrics.toArray()).map((p) => p.value);
    assert.deepEqual(ups(), [0, 1, 0]);
    protocol.refuse = false;
    clock.release();
    await waitFor('up again', () => source.status().connected);
    const gaps = emitter.health().flatMap((e) => e.logs);
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0]!.attributes['ws2otel.gap.cause'], 'closed');
    assert.equal(gaps[0]!.attributes['ws2otel.gap.causes'], 'closed,auth');
    assert.equal(gaps[0]!.attributes['ws2otel.gap.duration'], 60);
    assert.deepEqual(ups(), [0, 1, 0, 1]);
  });
});
