import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MistSource, mistSource } from '../../../src/sources/mist/source.js';
import { MistSimulator, type MistSimulatorOptions } from '../../../src/simulators/mist.js';
import type { MistConfig } from '../../../src/sources/mist/config.js';
import { CaptureEmitter, selfMetric, silentLog, sourceConfig } from '../../helpers/capture.js';
import { waitFor } from '../../helpers/net.js';
import { HeldClock } from '../../helpers/clock.js';
import { pino } from 'pino';

const SITE = '0d1f2e3c-1111-2222-3333-444455556666';
const STATS = `/sites/${SITE}/stats/devices`;
const EVENTS = `/sites/${SITE}/devices`;
function config(url: string, over: Partial<MistConfig> = {}): MistConfig {
  return sourceConfig(mistSource, { url, token: 'good-token', channels: [STATS, EVENTS], reconnect: { initial_interval: 20, max_interval: 100 },
    auth_retry: { initial_interval: 20, max_interval: 100 }, ...over });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(simOpts: Partial<MistSimulatorOptions> = {}, over: Partial<MistConfig> | Record<string, unknown> = {}, log = silentLog, clock?: HeldClock) {
  const sim = new MistSimulator({ token: 'good-token', devices: 2, intervalMs: 20, ...simOpts });
  await sim.start();
  const emitter = new CaptureEmitter();
  const cfg = config(sim.url, over as Partial<MistConfig>);
  const source = new MistSource(cfg, { emitter, log, ...(clock ? { clock } : {}) });
  cleanups.push(() => sim.stop(), () => source.stop());
  source.start();
  return { sim, emitter, source, cfg };
}

const subscribes = (sim: MistSimulator) => sim.clientMessages.map((m) => (m as { subscribe?: string }).subscribe).filter((c) => c !== undefined);

describe('Mist source against the simulator', () => {
  it('authenticates with the token header, subscribes every channel and emits mapped samples', async () => {
    const { sim, emitter, source } = await setup();
    await waitFor('samples', () => emitter.data().length >= 5);
    assert.deepEqual(sim.clientMessages.slice(0, 2), [{ subscribe: STATS }, { subscribe: EVENTS }]);
    assert.equal(sim.authFailures, 0);
    assert.equal(source.status().connected, true);
    assert.ok(emitter.data()[0]!.metrics.toArray().some((p) => p.name === 'mist.device.uptime'));
  });

  it('counts a refused token as an auth failure and keeps retrying with backoff', async () => {
    const { sim, source, cfg } = await setup({}, { token: 'wrong-token' });
    await waitFor('several refused upgrades', () => sim.authFailures >= 3);
    // The client counts a refusal when the answer reaches it, a moment after the server did.
    await waitFor('three refusals counted', async () => (await selfMetric('authFailures', { source: cfg.name })) >= 3);
    assert.equal(source.status().connected, false);
    assert.match(source.status().detail, /401/);
  });

  it('counts malformed, undecodable, NUL-padded and unknown frames without disturbing the stream', async () => {
    const { sim, emitter, cfg } = await setup({ intervalMs: 5, count: 40, faults: { malformedEvery: 4, badDataEvery: 5, unknownEvery: 10, nulPadEvery: 3 } });
    await sim.done;
    await waitFor('all 40 samples', () => emitter.data().length >= 40);
    assert.equal(emitter.data().length, 40, 'every good frame, NUL-padded ones included, came through');
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'malformed_json' }), 10);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'malformed_data' }), 8);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'unknown_type' }), 4);
    assert.equal(sim.connections, 1, 'bad frames never cost the connection');
  });

  it('reconnects and re-subscribes every channel after the server closes with 1012', async () => {
    const { sim, emitter, cfg } = await setup();
    await waitFor('first samples', () => emitter.data().length >= 2);
    sim.closeAll(1012, 'service restart');
    await waitFor('a second connection', () => sim.connections >= 2);
    const before = emitter.data().length;
    await waitFor('samples after reconnect', () => emitter.data().length > before + 2);
    const subs = sim.clientMessages.filter((m) => (m as { subscribe?: string }).subscribe);
    assert.equal(subs.length, 4, 'both channels subscribed on each connection');
    assert.ok((await selfMetric('reconnects', { source: cfg.name })) >= 1);
  });

  it('declares the socket dead when pongs stop and reconnects', async () => {
    const { sim } = await setup({ autoPong: false }, { keepalive: { interval: 50, timeout: 50 } });
    await waitFor('a reconnect after missed pongs', () => sim.connections >= 2, 10_000);
  });

  it('counts an oversized frame and recovers with a new connection', async () => {
    const { sim, emitter, cfg } = await setup({ faults: { oversizedEvery: 3, oversizedBytes: 4096 } }, { max_frame_bytes: 2048 });
    await waitFor('an oversized frame counted', async () => (await selfMetric('framesRejected', { source: cfg.name, reason: 'oversized' })) >= 1);
    await waitFor('a new connection', () => sim.connections >= 2);
    assert.ok(emitter.data().length >= 2);
  });

  it('stops reading while the pipeline is full and resumes when it drains', async () => {
    const { emitter } = await setup({ intervalMs: 0 });
    await waitFor('some samples', () => emitter.data().length > 0);
    emitter.accept = false;
    // Frames already decoded by ws may still arrive; after that the socket stays paused.
    await new Promise((r) => setTimeout(r, 200));
    const paused = emitter.data().length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(emitter.data().length, paused, 'no frame read while paused');
    emitter.release();
    await waitFor('samples after resume', () => emitter.data().length > paused + 100);
  });

  it('unsubscribes its channels and closes cleanly on stop', async () => {
    const { sim, emitter, source } = await setup();
    await waitFor('samples', () => emitter.data().length >= 2);
    await source.stop();
    const unsubs = sim.clientMessages.filter((m) => (m as { unsubscribe?: string }).unsubscribe).map((m) => (m as { unsubscribe: string }).unsubscribe);
    assert.deepEqual(unsubs.sort(), [EVENTS, STATS].sort());
  });

  it('subscribes a channel listed twice once per connection and warns about the duplicate', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const { sim, emitter } = await setup({}, { channels: [STATS, EVENTS, STATS] }, log);
    await waitFor('samples', () => emitter.data().length >= 2);
    assert.deepEqual(subscribes(sim), [STATS, EVENTS]);
    assert.equal(sim.duplicateSubscribes, 0);
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; duplicates?: string[] }).find((l) => /more than once/.test(l.msg));
    assert.ok(warned, 'a warning names the duplicates');
    assert.deepEqual(warned.duplicates, [STATS]);
  });

  it('strips NUL bytes around and inside the frame envelope, not only inside data, before parsing', async () => {
    const { sim, emitter, cfg } = await setup({ intervalMs: 5, count: 30, faults: { nulFrameEvery: 2 } });
    await sim.done;
    await waitFor('all 30 samples', () => emitter.data().length >= 30);
    assert.equal(emitter.data().length, 30, 'every NUL-padded frame came through');
    assert.equal(await selfMetric('framesRejected', { source: cfg.name }), 0, 'none rejected');
  });

  it('streams wireless clients from /stats/clients as clients (mist.client.*, the AP as an attribute), never as devices', async () => {
    const clients = `/sites/${SITE}/stats/clients`;
    const { emitter } = await setup({ intervalMs: 10 }, { channels: [clients] });
    await waitFor('client samples', () => emitter.data().length >= 4);
    const points = emitter.points();
    assert.equal(points.filter((p) => p.name.startsWith('mist.device.') || p.resource['device.id'] !== undefined).length, 0, 'no device series from a client');
    const rssi = points.find((p) => p.name === 'mist.client.rssi');
    assert.ok(rssi, 'mist.client.rssi');
    assert.equal(rssi.unit, 'dBm');
    assert.match(String(rssi.resource['mist.client.mac']), /^a4c3f0/);
    assert.match(String(rssi.attributes['mist.ap.mac']), /^5c5b35/);
  });

  it('names a refused channel and Mist\'s reason in its status while the other channels stream', async () => {
    const refused = `/sites/${SITE}/stats/clients`;
    const { emitter, source } = await setup({ refuseChannels: [refused] }, { channels: [STATS, refused] });
    await waitFor('samples', () => emitter.data().length >= 2);
    await waitFor('the refusal seen', () => source.status().detail.includes(refused));
    assert.equal(source.status().connected, true);
    assert.match(source.status().detail, /failed: .*stats\/clients \(refused: permission denied\)/);
  });
});

describe('Mist source: every subscribe gets an answer', () => {
  const CLIENTS = `/sites/${SITE}/stats/clients`;

  it('names a channel Mist never answers in its status after subscribe_timeout and asks again on the slow schedule, the others untouched', async () => {
    const clock = new HeldClock();
    const { sim, emitter, source } = await setup({ silentChannels: [CLIENTS] }, { channels: [STATS, CLIENTS], subscribe_timeout: '1s', resubscribe_interval: '5s' }, silentLog, clock);
    await waitFor('the unanswered channel named', () => source.status().detail.includes(`${CLIENTS} (no answer within 1 s)`));
    assert.match(source.status().detail, /^subscribed 1\/2; failed: /);
    assert.ok(emitter.data().length > 0, 'the answered channel streams meanwhile');
    await waitFor('the slow wait asked for', () => clock.sleeps.length >= 1);
    assert.deepEqual(clock.sleeps, [5000]);
    assert.deepEqual(subscribes(sim), [STATS, CLIENTS]);
    clock.release();
    await waitFor('asked again', () => subscribes(sim).length >= 3);
    assert.deepEqual(subscribes(sim), [STATS, CLIENTS, CLIENTS], 'only the unanswered channel is asked again');
    await waitFor('the next, longer wait', () => clock.sleeps.length >= 2);
    assert.deepEqual(clock.sleeps, [5000, 10_000]);
  });

  it('retries a refused channel on the slow schedule, naming it and Mist\'s reason meanwhile', async () => {
    const clock = new HeldClock();
    const { sim, source } = await setup({ refuseChannels: [CLIENTS] }, { channels: [STATS, CLIENTS], resubscribe_interval: '5s' }, silentLog, clock);
    await waitFor('the refusal named', () => source.status().detail.includes(`${CLIENTS} (refused: permission denied)`));
    await waitFor('the slow wait asked for', () => clock.sleeps.length >= 1);
    assert.deepEqual(clock.sleeps, [5000]);
    clock.release();
    await waitFor('asked again', () => subscribes(sim).filter((c) => c === CLIENTS).length >= 2);
    assert.equal(subscribes(sim).filter((c) => c === STATS).length, 1, 'the healthy channel is not asked again');
  });
});

describe('Mist simulator subscription answers', () => {
  it('answers a --refuse-channel with subscribe_failed and a --silent-channel with nothing, the others with channel_subscribed', async () => {
    const refused = `/sites/${SITE}/stats/clients`;
    const silent = `/sites/${SITE}/stats/mxedges`;
    const sim = new MistSimulator({ token: 't', intervalMs: 1000, refuseChannels: [refused], silentChannels: [silent] });
    await sim.start();
    cleanups.push(() => sim.stop());
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(sim.url, { headers: { Authorization: 'Token t' } });
    const got: { event: string; channel: string; detail?: string }[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { event: string; channel: string; detail?: string };
      if (m.event !== 'data') got.push(m);
    });
    await new Promise((r) => ws.once('open', r));
    for (const ch of [refused, silent, STATS]) ws.send(JSON.stringify({ subscribe: ch }));
    await waitFor('two answers', () => got.length >= 2);
    // A ping round trip after the three subscribes: any answer to the silent channel would be here by now.
    await new Promise((r) => { ws.once('pong', r); ws.ping(); });
    ws.close();
    assert.deepEqual(got, [
      { event: 'subscribe_failed', channel: refused, detail: 'permission denied' },
      { event: 'channel_subscribed', channel: STATS },
    ]);
  });
});
