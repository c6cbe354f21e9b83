import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MistSource } from '../../src/sources/mist/source.js';
import { MistSimulator, deviceStats } from '../../src/simulators/mist.js';
import type { MistConfig } from '../../src/sources/mist/config.js';
import type { CommonSourceConfig } from '../../src/sources/source.js';
import { CaptureEmitter, selfMetric, silentLog } from '../helpers/capture.js';
import { FakeClock } from '../helpers/clock.js';
import { FrameServer } from '../helpers/frame_server.js';
import { waitFor } from '../helpers/net.js';

const SITE = '0d1f2e3c-1111-2222-3333-444455556666';
const STATS = `/sites/${SITE}/stats/devices`;
const EVENTS = `/sites/${SITE}/devices`;
let n = 0;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function common(name: string, over: Partial<CommonSourceConfig> = {}): CommonSourceConfig {
  return {
    name, type: 'test', resource: {}, metrics: [], reconnect: { initial_interval: 20, max_interval: 100 },
    keepalive: { interval: 60_000, timeout: 45_000 }, max_frame_bytes: 64 * 1024 * 1024, tls: { ca_file: '', insecure_skip_verify: false }, ...over,
  };
}

function mistConfig(url: string, over: Partial<MistConfig> = {}): MistConfig {
  return { ...common(`session-mist-${++n}`), type: 'mist', url, token: 'good-token', channels: [STATS, EVENTS], ...over } as MistConfig;
}

/** A FrameServer that confirms Mist subscriptions, and a Mist source reading from it. */
async function mistRig(over: Partial<MistConfig> = {}, log = silentLog) {
  const server = new FrameServer((msg, ws) => {
    const ch = (msg as { subscribe?: unknown }).subscribe;
    if (typeof ch === 'string') ws.send(JSON.stringify({ event: 'channel_subscribed', channel: ch }));
  });
  await server.start();
  const emitter = new CaptureEmitter();
  const cfg = mistConfig(server.url, over);
  const source = new MistSource(cfg, { emitter, log });
  cleanups.push(() => server.stop(), () => source.stop());
  source.start();
  await waitFor('subscribed', () => source.status().connected);
  return { server, emitter, source, cfg };
}

const good = (seq: number) => ({ event: 'data', channel: STATS, data: JSON.stringify(deviceStats(1, seq, SITE, Date.now())) });
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('Session, through the Mist protocol: a frame can never kill a source', () => {
  it('maps a 10,000-deep Mist event without text to a bounded body and keeps the stream going', async () => {
    const { server, emitter } = await mistRig();
    await server.send({ event: 'data', channel: EVENTS, data: `{"mac":"5c5b35000001","nested":${deep(10_000)}}` });
    for (let i = 0; i < 3; i++) await server.send(good(i));
    await waitFor('the good frames after it', () => emitter.data().filter((e) => e.metrics.length).length >= 3);
    const rec = emitter.data().flatMap((e) => e.logs)[0];
    assert.ok(rec, 'the deep event became a record');
    assert.ok(rec.body.length <= 4097, `body of ${rec.body.length} chars`);
    assert.equal(server.connections, 1);
  });

  it('rejects a channel_subscribed whose channel is a 10,000-deep array without losing the socket', async () => {
    const { server, emitter, cfg, source } = await mistRig();
    await server.send(`{"event":"channel_subscribed","channel":${deep(10_000)}}`);
    await server.send(good(1));
    await waitFor('the good frame after it', () => emitter.data().length >= 1);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'unknown_channel' }), 1);
    assert.equal(source.status().connected, true);
    assert.equal(server.connections, 1);
  });

  it('counts an invalid UTF-8 text frame as invalid_utf8 and keeps the connection', async () => {
    const { server, emitter, cfg } = await mistRig();
    await server.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // {"\xff\xfe"}
    await server.send(good(1));
    await waitFor('the good frame after it', () => emitter.data().length >= 1);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'invalid_utf8' }), 1);
    assert.equal(server.connections, 1, 'no reconnect for one bad frame');
  });
});

describe('Session, through the Mist protocol: bounded work and state per frame', () => {
  it('cuts a stats frame of 100,000 radios to points_per_frame and counts too_many_points', async () => {
    const limits = { points_per_frame: 500, records_per_frame: 500, envelopes_per_frame: 50, attributes_per_record: 64 };
    const { server, emitter, cfg } = await mistRig({ limits });
    const stats = deviceStats(1, 1, SITE, Date.now());
    const radios: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) radios[`r${i}`] = { num_clients: 1, channel: 6, power: 10, noise_floor: -90, util_all: 5, tx_bytes: 1, rx_bytes: 2 };
    stats.radio_stat = radios;
    await server.send({ event: 'data', channel: STATS, data: JSON.stringify(stats) });
    await server.send(good(2));
    await waitFor('both frames', () => emitter.data().length >= 2);
    assert.equal(emitter.data()[0]!.metrics.length, 500);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'too_many_points' }), 1);
    assert.ok(emitter.data()[1]!.metrics.length > 10, 'the next frame whole');
  });

  it('cuts a frame of 100,000 events from distinct devices to envelopes_per_frame', async () => {
    const limits = { points_per_frame: 500, records_per_frame: 5000, envelopes_per_frame: 50, attributes_per_record: 64 };
    const { server, emitter, cfg } = await mistRig({ limits });
    const events = Array.from({ length: 100_000 }, (_, i) => ({ type: 'AP_CONNECTED', mac: `mac${i}`, timestamp: Date.now() / 1000 }));
    await server.send({ event: 'data', channel: EVENTS, data: JSON.stringify({ events }) });
    await server.send(good(1));
    await waitFor('the stats frame after it', () => emitter.data().some((e) => e.metrics.length));
    assert.equal(emitter.data().filter((e) => e.logs.length).length, 50);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'too_many_envelopes' }), 1);
  });

  it('cuts a record of 100,000 attributes to attributes_per_record', async () => {
    const limits = { points_per_frame: 500, records_per_frame: 500, envelopes_per_frame: 50, attributes_per_record: 64 };
    const { server, emitter, cfg } = await mistRig({ limits });
    const ev: Record<string, unknown> = { type: 'AP_CONNECTED', mac: 'm1' };
    for (let i = 0; i < 100_000; i++) ev[`k${i}`] = i;
    await server.send({ event: 'data', channel: EVENTS, data: JSON.stringify(ev) });
    await waitFor('the record', () => emitter.data().length >= 1);
    assert.equal(Object.keys(emitter.data()[0]!.logs[0]!.attributes).length, 64);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'too_many_attributes' }), 1);
  });

  it('keeps the subscriptions gauge at the configured channels whatever channel_subscribed replies arrive', async () => {
    const { server, cfg } = await mistRig();
    for (let i = 0; i < 2000; i++) void server.send({ event: 'channel_subscribed', channel: `/sites/${SITE}/stats/x${i}` });
    await server.send(good(1));
    await waitFor('rejections counted', async () => (await selfMetric('framesRejected', { source: cfg.name, reason: 'unknown_channel' })) >= 2000);
    assert.equal(await selfMetric('subscriptions', { source: cfg.name, state: 'active' }), 2);
  });

  it('logs subscribe_failed for channels never requested at most once per 10 s, however many distinct channels', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const { server, emitter, cfg } = await mistRig({}, log);
    for (let i = 0; i < 3000; i++) void server.send({ event: 'subscribe_failed', channel: `/sites/${SITE}/x${i}`, detail: 'no' });
    await server.send(good(1));
    await waitFor('the good frame', () => emitter.data().length >= 1);
    await waitFor('all counted', async () => (await selfMetric('framesRejected', { source: cfg.name, reason: 'unknown_channel' })) >= 3000);
    assert.ok(lines.length <= 2, `${lines.length} log lines`);
    assert.equal(await selfMetric('subscriptions', { source: cfg.name, state: 'failed' }), 0, 'not our channels: not our failures');
  });
});

describe('Session, through the Mist protocol: refused credentials and rate limits', () => {
  async function mistSim(opts: Partial<ConstructorParameters<typeof MistSimulator>[0]>) {
    const sim = new MistSimulator({ token: 'good-token', devices: 1, intervalMs: 50, ...opts });
    await sim.start();
    cleanups.push(() => sim.stop());
    return sim;
  }

  it('waits on the slow auth schedule after a refused token: 1 min, then doubling, counted and shown as auth', async () => {
    const sim = await mistSim({});
    const clock = new FakeClock();
    const cfg = mistConfig(sim.url, { token: 'wrong-token' });
    const source = new MistSource(cfg, { emitter: new CaptureEmitter(), log: silentLog, clock });
    cleanups.push(() => source.stop());
    source.start();
    await waitFor('three waits', () => clock.sleeps.length >= 3);
    assert.deepEqual(clock.sleeps.slice(0, 3), [60_000, 120_000, 240_000]);
    assert.ok(sim.authFailures >= 3 && sim.authFailures <= clock.sleeps.length + 1, 'one refused upgrade per wait');
    assert.ok((await selfMetric('connectFailures', { source: cfg.name, reason: 'auth' })) >= 3);
    const st = source.status();
    assert.equal(st.connected, false);
    assert.equal(st.problem, 'auth');
    assert.match(st.detail, /auth refused.*401.*next try in/);
  });

  it('honours Retry-After on an upgrade answered 429, then connects', async () => {
    const sim = await mistSim({ rateLimit: { upgrades: 1, retryAfterS: 20 } });
    const clock = new FakeClock();
    const emitter = new CaptureEmitter();
    const cfg = mistConfig(sim.url);
    const source = new MistSource(cfg, { emitter, log: silentLog, clock });
    cleanups.push(() => source.stop());
    source.start();
    await waitFor('data after the wait', () => emitter.data().length >= 1);
    assert.deepEqual(clock.sleeps, [20_000]);
    assert.equal(sim.rateLimited.length, 1);
    assert.equal(await selfMetric('connectFailures', { source: cfg.name, reason: 'rate_limited' }), 1);
  });

  it('waits at least 30 s after a 429 without Retry-After', async () => {
    const sim = await mistSim({ rateLimit: { upgrades: 2 } });
    const clock = new FakeClock();
    const emitter = new CaptureEmitter();
    const source = new MistSource(mistConfig(sim.url), { emitter, log: silentLog, clock });
    cleanups.push(() => source.stop());
    source.start();
    await waitFor('data after the waits', () => emitter.data().length >= 1);
    assert.equal(sim.rateLimited.length, 2);
    assert.deepEqual(clock.sleeps, [30_000, 30_000]);
  });

  it('shows a 429 in the status while it waits', async () => {
    const sim = await mistSim({ rateLimit: { upgrades: 1, retryAfterS: 20 } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const clock = { now: () => Date.now(), sleep: async () => held };
    const source = new MistSource(mistConfig(sim.url), { emitter: new CaptureEmitter(), log: silentLog, clock });
    cleanups.push(async () => {
      release();
      await source.stop();
    });
    source.start();
    await waitFor('rate limited', () => source.status().problem === 'rate_limited');
    assert.match(source.status().detail, /rate limited.*429.*next try in 20 s/);
  });
});
