import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RETIRED_MAX, componentSecrets, retired } from '../../../src/telemetry/secrets.js';
import { SysadmSource, sysadmSource } from '../../../src/sources/sysadm/source.js';
import { SysadmSimulator, type SysadmSimulatorOptions } from '../../../src/simulators/sysadm.js';
import type { SysadmConfig } from '../../../src/sources/sysadm/config.js';
import { RawClient } from './raw_client.js';
import { CaptureEmitter, selfMetric, silentLog, sourceConfig } from '../../helpers/capture.js';
import { waitFor } from '../../helpers/net.js';
import { readFileSync } from 'node:fs';
import { FakeClock } from '../../helpers/clock.js';
import { scrub } from '../../../src/telemetry/logger.js';

const USER = 'monitor';
const PASS = 'correct horse battery';
function config(url: string, over: Partial<SysadmConfig> = {}): SysadmConfig {
  return sourceConfig(sysadmSource, {
    url, username: USER, password: PASS, events: ['dispatcher', 'life-preserver', 'system-state'],
    reconnect: { initial_interval: 20, max_interval: 100 },
    auth_retry: { initial_interval: 20, max_interval: 100 }, keepalive: { interval: 60_000, timeout: 30_000 }, ...over,
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator(opts: Partial<SysadmSimulatorOptions> = {}) {
  const sim = new SysadmSimulator({ users: { [USER]: PASS }, hostname: 'nas-under-test', ...opts });
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

async function setup(simOpts: Partial<SysadmSimulatorOptions> = {}, over: (sim: SysadmSimulator) => Partial<SysadmConfig> = () => ({})) {
  const sim = await simulator(simOpts);
  const emitter = new CaptureEmitter();
  const cfg = config(sim.url, { tls: { ca_file: sim.certFile, insecure_skip_verify: false }, ...over(sim) });
  const source = new SysadmSource(cfg, { emitter, log: silentLog });
  cleanups.push(() => source.stop());
  source.start();
  return { sim, emitter, source, cfg };
}

/** A live token, as a user would get one to configure: a login of its own on a socket of its own. */
async function loginToken(sim: SysadmSimulator): Promise<string> {
  const raw = await RawClient.open(sim.url, readFileSync(sim.certFile, 'utf8'));
  try {
    return ((await raw.call('rpc', 'auth', 'a1', { username: USER, password: PASS })).args as [string])[0];
  } finally {
    raw.close();
  }
}

const names = (sim: SysadmSimulator) => sim.clientMessages.map((m) => `${m.namespace} ${m.name}`);
const count = (sim: SysadmSimulator, what: string) => names(sim).filter((x) => x === what).length;

describe('sysadm source against the simulator', () => {
  it('identifies, authenticates with rpc auth, subscribes the configured classes and maps the cached events', async () => {
    const { sim, emitter, source } = await setup();
    await waitFor('established', () => source.status().connected);
    await waitFor('three cached events', () => emitter.data().length >= 3);
    assert.deepEqual(names(sim).slice(0, 3), ['rpc identify', 'rpc auth', 'events subscribe']);
    assert.deepEqual(sim.clientMessages[1]!.args, { username: USER, password: PASS });
    assert.deepEqual(sim.clientMessages[2]!.args, ['dispatcher', 'life-preserver', 'system-state']);
    const byEvent = new Map(emitter.data().map((e) => [e.logs[0]?.eventName, e]));
    assert.deepEqual([...byEvent.keys()].sort(), ['sysadm.dispatcher', 'sysadm.life-preserver', 'sysadm.system-state']);
    const state = byEvent.get('sysadm.system-state')!;
    assert.ok(state.metrics.toArray().some((p) => p.name === 'sysadm.zpool.size' && p.attributes['sysadm.zpool.name'] === 'zroot' && p.value === 107 * 1024 ** 3));
    assert.equal(state.resource['host.name'], 'nas-under-test');
    assert.equal(byEvent.get('sysadm.life-preserver')!.resource['host.name'], 'nas-under-test', 'host name learnt from rpc identify');
    assert.equal(sim.authFailures, 0);
  });

  it('counts a wrong password (401 error envelope) as an auth failure, never subscribes, and retries with backoff', async () => {
    const { sim, source, cfg, emitter } = await setup({}, () => ({ password: 'wrong' }));
    await waitFor('several refused logins', () => sim.authFailures >= 3);
    // The server counts a refusal when it sends it, the source when the reply arrives: wait for the
    // source's count rather than reading it at the moment the server's reaches 3.
    await waitFor('three auth failures counted', async () => (await selfMetric('authFailures', { source: cfg.name })) >= 3);
    assert.equal(source.status().connected, false);
    // Between attempts the detail says why the last one failed (while connecting it says so instead).
    await waitFor('the reason in the status', () => /refused auth as "monitor" with 401/.test(source.status().detail));
    assert.equal(count(sim, 'events subscribe'), 0);
    assert.equal(emitter.data().length, 0);
    assert.ok(sim.connections >= 3, 'each attempt is a new connection');
  });

  it('authenticates with rpc auth_token when given a token', async () => {
    const sim = await simulator();
    const raw = await RawClient.open(sim.url, readFileSync(sim.certFile, 'utf8'));
    cleanups.push(() => raw.close());
    const reply = await raw.call('rpc', 'auth', 'a1', { username: USER, password: PASS });
    const [token, lifetime] = reply.args as [string, number];
    assert.equal(lifetime, 900);
    const emitter = new CaptureEmitter();
    const source = new SysadmSource(config(sim.url, { username: '', password: '', token, tls: { ca_file: sim.certFile, insecure_skip_verify: false } }), { emitter, log: silentLog });
    cleanups.push(() => source.stop());
    source.start();
    await waitFor('established', () => source.status().connected);
    assert.deepEqual(sim.clientMessages.filter((m) => m.name === 'auth_token').map((m) => m.args), [{ token }]);
  });

  it('keeps the socket open past the idle limit by sending rpc identify (pings alone do not count)', async () => {
    // Scaled time: the server's 30 minutes are 600 ms here, ws2otel identifies every 150 ms and pings every 50 ms.
    const { sim, source } = await setup({ idleTimeoutMs: 600 }, () => ({ identify_interval: 150, keepalive: { interval: 50, timeout: 1000 } }));
    await waitFor('established', () => source.status().connected);
    await waitFor('identify well past five idle limits', () => count(sim, 'rpc identify') >= 20, 15_000);
    assert.equal(sim.idleCloses, 0);
    assert.equal(sim.connections, 1);
    assert.equal(source.status().connected, true);
  });

  it('is closed by the server at the idle limit when it identifies too rarely, then reconnects and re-subscribes', async () => {
    // The control for the test above: the same pings, but identify slower than the idle limit.
    const { sim, source } = await setup({ idleTimeoutMs: 400 }, () => ({ identify_interval: 60_000, keepalive: { interval: 50, timeout: 1000 } }));
    await waitFor('an idle close', () => sim.idleCloses >= 1, 10_000);
    await waitFor('a second subscription', () => count(sim, 'events subscribe') >= 2, 10_000);
    await waitFor('established again', () => source.status().connected);
    assert.ok(sim.connections >= 2);
  });

  it('reconnects, authenticates again and re-subscribes after the server closes', async () => {
    const { sim, emitter, source, cfg } = await setup({ lifePreserverEveryMs: 50 });
    await waitFor('established', () => source.status().connected);
    await waitFor('events', () => emitter.data().length >= 5);
    sim.closeAll(1001, 'server shutting down');
    await waitFor('a second connection subscribed', () => count(sim, 'events subscribe') >= 2);
    assert.equal(count(sim, 'rpc auth'), 2);
    assert.equal(sim.connections, 2);
    const before = emitter.data().length;
    await waitFor('events after the reconnect', () => emitter.data().length > before + 3);
    assert.ok((await selfMetric('reconnects', { source: cfg.name })) >= 1);
  });

  it('verifies the certificate by default: the self-signed one is refused without ca_file', async () => {
    const { sim, source, emitter } = await setup({}, () => ({ tls: { ca_file: '', insecure_skip_verify: false } }));
    await waitFor('a certificate error', () => /self[- ]signed|certificate/i.test(source.status().detail));
    assert.equal(source.status().connected, false);
    assert.equal(sim.clientMessages.length, 0, 'no request reached the server');
    assert.equal(emitter.data().length, 0);
  });

  it('accepts the self-signed certificate when insecure_skip_verify is set', async () => {
    const { sim, source } = await setup({}, () => ({ tls: { ca_file: '', insecure_skip_verify: true } }));
    await waitFor('established', () => source.status().connected);
    assert.equal(count(sim, 'events subscribe'), 1);
  });

  it('counts malformed and unknown frames, handles the unasked bridge message, and keeps the stream going', async () => {
    const { sim, emitter, source, cfg } = await setup();
    await waitFor('established', () => source.status().connected);
    await waitFor('cached events', () => emitter.data().length >= 3);
    sim.sendMalformed();
    sim.sendUnknown();
    sim.sendBridge();
    sim.sendMalformed();
    sim.push('life-preserver', { message: '2024-05-01T10:00:00Z: after the bad frames', priority: '4 - Warning', class: 'replication' });
    await waitFor('the event after the bad frames', () => emitter.data().some((e) => e.logs[0]?.body === 'after the bad frames'));
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'malformed_json' }), 2);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'unknown_type' }), 1);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name }), 3, 'the bridge message is not a bad frame');
    assert.equal(sim.connections, 1, 'bad frames never cost the connection');
    const warn = emitter.data().find((e) => e.logs[0]?.body === 'after the bad frames')!.logs[0]!;
    assert.equal(warn.severityText, 'WARN');
  });

  it('counts an oversized frame, resets the connection and resumes after re-auth and re-subscribe', async () => {
    const { sim, emitter, source, cfg } = await setup({}, () => ({ max_frame_bytes: 64 * 1024 }));
    await waitFor('established', () => source.status().connected);
    sim.sendOversized(200 * 1024);
    await waitFor('oversized counted', async () => (await selfMetric('framesRejected', { source: cfg.name, reason: 'oversized' })) >= 1);
    await waitFor('re-subscribed', () => count(sim, 'events subscribe') >= 2);
    const before = emitter.data().length;
    sim.push('dispatcher');
    await waitFor('events after the reset', () => emitter.data().length > before);
    assert.equal(count(sim, 'rpc auth'), 2);
  });

  it('polls systemmanager on the interval and emits memory, CPU and temperature metrics', async () => {
    const { emitter } = await setup({}, () => ({ poll: { interval: 100, actions: ['memorystats', 'cpupercentage', 'cputemps'] } }));
    await waitFor('two rounds of polls', () => emitter.data().filter((e) => e.metrics.toArray().some((p) => p.name === 'sysadm.cpu.temperature')).length >= 2);
    const points = emitter.data().flatMap((e) => e.metrics.toArray());
    const free = points.find((p) => p.name === 'sysadm.memory.free');
    assert.ok(free && free.value % (1 << 20) === 0 && free.value >= 1024 * (1 << 20));
    assert.ok(points.some((p) => p.name === 'sysadm.cpu.busy' && p.attributes.cpu === 'total'));
    assert.ok(points.some((p) => p.name === 'sysadm.cpu.temperature' && p.unit === 'Cel' && p.attributes.cpu === 'cpu1'));
    const env = emitter.data().find((e) => e.metrics.toArray().some((p) => p.name === 'sysadm.memory.free'))!;
    assert.equal(env.resource['host.name'], 'nas-under-test');
  });

  it('authenticates again on the same socket when the token expired, and keeps polling', async () => {
    const { sim, emitter, source } = await setup({}, () => ({ poll: { interval: 100, actions: ['memorystats'] } }));
    await waitFor('established', () => source.status().connected);
    await waitFor('a poll result', () => emitter.data().some((e) => e.metrics.length && !e.logs.length));
    sim.expireTokens();
    await waitFor('a second login', () => count(sim, 'rpc auth') >= 2);
    const before = emitter.data().length;
    await waitFor('polls after the new login', () => emitter.data().slice(before).some((e) => e.metrics.toArray().some((p) => p.name === 'sysadm.memory.free')));
    assert.equal(sim.connections, 1, 'no reconnect needed');
    assert.equal(sim.authFailures, 0);
  });

  it('survives a 403 on polls (no full access) with events still flowing', async () => {
    const { sim, emitter, source, cfg } = await setup({ restrictedUsers: [USER] }, () => ({ poll: { interval: 50, actions: ['cputemps'] } }));
    await waitFor('established', () => source.status().connected);
    await waitFor('several refused polls', () => count(sim, 'sysadm systemmanager') >= 3);
    sim.push('life-preserver');
    await waitFor('the pushed event', () => emitter.data().filter((e) => e.logs[0]?.eventName === 'sysadm.life-preserver').length >= 2);
    assert.equal(sim.connections, 1);
    assert.equal(await selfMetric('authFailures', { source: cfg.name }), 0, 'a 403 on a call is not a failed login');
  });

  it('treats the empty cache ("") sent on subscribe as no event', async () => {
    const { sim, emitter, source, cfg } = await setup({ emptyCache: true });
    // The server sends the cached events before the subscribe reply: once established, the "" are read.
    await waitFor('established', () => source.status().connected);
    assert.equal(sim.sent.filter((e) => e.args === '').length, 3);
    assert.equal(emitter.data().length, 0);
    sim.push('system-state');
    await waitFor('the first real event', () => emitter.data().length === 1);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name }), 0);
  });

  it('unsubscribes and clears its token on stop', async () => {
    const { sim, source } = await setup();
    await waitFor('established', () => source.status().connected);
    await source.stop();
    await waitFor('auth_clear', () => count(sim, 'rpc auth_clear') === 1);
    const unsub = sim.clientMessages.find((m) => m.name === 'unsubscribe');
    assert.deepEqual(unsub?.args, ['dispatcher', 'life-preserver', 'system-state']);
  });
});

// What the real server does that a forgiving simulator would not (protocols.md's field behaviours):
// tokens that lapse and vanish on restart, identify's type, the replay on subscribe, shifted zpool rows.
describe('sysadm source against the server\'s field behaviours', () => {
  /** The slow schedules on a fake clock, defaults as a user would have them (1 min, doubling). */
  async function slowRig(simOpts: Partial<SysadmSimulatorOptions>, over: (sim: SysadmSimulator) => Partial<SysadmConfig> = () => ({}), given?: SysadmSimulator) {
    const sim = given ?? (await simulator(simOpts));
    const clock = new FakeClock();
    const emitter = new CaptureEmitter();
    const cfg = config(sim.url, {
      tls: { ca_file: sim.certFile, insecure_skip_verify: false }, auth_retry: { initial_interval: 60_000, max_interval: 1_800_000 }, ...over(sim),
    });
    const source = new SysadmSource(cfg, { emitter, log: silentLog, clock });
    cleanups.push(() => source.stop());
    source.start();
    return { sim, emitter, source, cfg, clock };
  }

  it('keeps its token alive with identify plus an authenticated rpc query, so a server closing lapsed sessions never closes it', async () => {
    // Scaled: the token lives 1 s without an authenticated call; ws2otel sends identify + query every 100 ms.
    const { sim, source, cfg } = await setup({ tokenTtlMs: 1000, closeOnTokenExpiry: true }, () => ({ identify_interval: 100 }));
    await waitFor('established', () => source.status().connected);
    await waitFor('queries over several token lifetimes', () => count(sim, 'rpc query') >= 40, 20_000);
    assert.equal(sim.tokenExpiryCloses, 0, 'the token never lapsed');
    assert.equal(sim.connections, 1);
    assert.equal(count(sim, 'rpc auth'), 1, 'one login for the whole session');
    assert.equal(await selfMetric('authFailures', { source: cfg.name }), 0);
    assert.ok(count(sim, 'rpc identify') >= count(sim, 'rpc query'), 'identify goes with every query');
  });

  it('logs in again on the same socket when its keepalive query is refused (token expired), without counting a wrong password', async () => {
    const { sim, emitter, source, cfg } = await setup({}, () => ({ identify_interval: 100 }));
    await waitFor('established', () => source.status().connected);
    sim.expireTokens();
    await waitFor('a second login', () => count(sim, 'rpc auth') >= 2);
    sim.push('life-preserver', { message: '2026-01-01T00:00:00Z: after the new login', priority: '1 - Information', class: 'snapshot' });
    await waitFor('the event after the new login', () => emitter.records().some((r) => r.body === 'after the new login'));
    assert.equal(sim.connections, 1, 'no reconnect needed');
    assert.equal(sim.authFailures, 0);
    assert.equal(await selfMetric('authFailures', { source: cfg.name }), 0);
    assert.equal(source.status().connected, true);
  });

  it('logs in again with its password after a server restart forgot every token, counting no auth failure', async () => {
    const { sim, source, cfg } = await setup();
    await waitFor('established', () => source.status().connected);
    sim.restart();
    await waitFor('a login after the restart', () => count(sim, 'rpc auth') >= 2);
    await waitFor('established again', () => source.status().connected);
    assert.equal(sim.authFailures, 0);
    assert.equal(await selfMetric('authFailures', { source: cfg.name }), 0);
    assert.equal(await selfMetric('connectFailures', { source: cfg.name }), 0);
  });

  it('with only a configured token that a restarted server forgot, says "static token refused; it expired or the server restarted" and waits on the slow schedule', async () => {
    const sim = await simulator();
    const token = await loginToken(sim);
    const { source, cfg, clock } = await slowRig({}, () => ({ username: '', password: '', token }), sim);
    await waitFor('established with the token', () => source.status().connected);
    sim.restart();
    await waitFor('two slow waits', () => clock.sleeps.length >= 2);
    const st = source.status();
    assert.equal(st.connected, false);
    assert.equal(st.problem, 'auth');
    assert.match(st.detail, /static token refused; it expired or the server restarted/);
    assert.deepEqual(clock.sleeps.slice(0, 2), [60_000, 120_000], 'the auth schedule, not the reconnect backoff');
    assert.ok((await selfMetric('authFailures', { source: cfg.name })) >= 2);
  });

  it('with only a configured token that expired on a live socket (keepalive query refused), says so and waits on the slow schedule', async () => {
    const sim = await simulator();
    const token = await loginToken(sim);
    const { source, clock } = await slowRig({}, () => ({ username: '', password: '', token, identify_interval: 100 }), sim);
    await waitFor('established with the token', () => source.status().connected);
    sim.expireTokens();
    await waitFor('a slow wait', () => clock.sleeps.length >= 1);
    assert.equal(clock.sleeps[0], 60_000);
    assert.match(source.status().detail, /static token refused; it expired or the server restarted/);
    assert.equal(count(sim, 'rpc auth'), 1, "only the test's own login that made the token: ws2otel has no password to try");
  });

  it('refuses a bridge (identify answers type "bridge"): no credentials sent, a clear error in the status, the slow schedule', async () => {
    const { sim, source, cfg, clock } = await slowRig({ bridge: true });
    await waitFor('two slow waits', () => clock.sleeps.length >= 2);
    assert.equal(count(sim, 'rpc auth'), 0, 'the password never went to the bridge');
    assert.equal(sim.authFailures, 0);
    assert.deepEqual(clock.sleeps.slice(0, 2), [60_000, 120_000]);
    const st = source.status();
    assert.equal(st.problem, 'auth');
    assert.match(st.detail, /identifies as "bridge", not "server"/);
    assert.ok((await selfMetric('connectFailures', { source: cfg.name, reason: 'auth' })) >= 2);
  });

  it('exports each event once across a reconnect: the cached events replayed on the new subscribe are skipped and counted', async () => {
    const { sim, emitter, source, cfg } = await setup();
    await waitFor('established', () => source.status().connected);
    await waitFor('the three cached events', () => emitter.data().length >= 3);
    sim.closeAll(1001, 'server shutting down');
    await waitFor('a second subscription', () => count(sim, 'events subscribe') >= 2);
    await waitFor('established again', () => source.status().connected);
    assert.equal(sim.sent.filter((e) => e.args !== '').length, 6, 'the server replayed its three cached events');
    sim.push('life-preserver', { message: '2026-01-01T00:00:00Z: new after the reconnect', priority: '1 - Information', class: 'snapshot' });
    await waitFor('the new event', () => emitter.records().some((r) => r.body === 'new after the reconnect'));
    const events = emitter.records().map((r) => r.eventName);
    assert.deepEqual(events.sort(), ['sysadm.dispatcher', 'sysadm.life-preserver', 'sysadm.life-preserver', 'sysadm.system-state']);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'replayed' }), 3);
  });

  it('counts a zpool row whose columns shifted as shifted_columns and maps none of its numbers; the sound pools are mapped', async () => {
    const { emitter, source, cfg } = await setup({ shiftedZpool: true });
    await waitFor('established', () => source.status().connected);
    await waitFor('the system-state event', () => emitter.records().some((r) => r.eventName === 'sysadm.system-state'));
    const pools = new Set(emitter.points().map((p) => p.attributes['sysadm.zpool.name']).filter(Boolean));
    assert.deepEqual([...pools].sort(), ['tank', 'zroot']);
    assert.equal(await selfMetric('framesRejected', { source: cfg.name, reason: 'shifted_columns' }), 1);
  });

  it('holds a learnt token in its scope only while its connection lives: after five re-logins only the live token; ended ones only in the bounded retired scrub', async () => {
    const { sim, source, cfg } = await setup();
    const scope = componentSecrets('source', cfg.name);
    for (let i = 1; i <= 5; i++) {
      await waitFor(`login ${i}`, () => source.status().connected && sim.issuedTokens.length === i);
      sim.closeAll();
    }
    await waitFor('login 6', () => source.status().connected && sim.issuedTokens.length === 6);
    const tokens = sim.issuedTokens;
    const held = () => new Set(scope);
    for (const t of tokens.slice(0, 5)) assert.ok(!held().has(t), 'an old token is forgotten by the source\'s scope');
    assert.ok(held().has(tokens[5]!), 'the live one is held');
    assert.equal(scrub(tokens[5]!), '[REDACTED]', 'the live one is scrubbed');
    // Data that carried an ended session's token can outlive it (buffers, dead letters): still scrubbed, bounded.
    assert.deepEqual(tokens.slice(0, 5).map(scrub), tokens.slice(0, 5).map(() => '[REDACTED]'));
    assert.ok(retired().size <= RETIRED_MAX);
    await source.stop();
    assert.ok(!held().has(tokens[5]!), 'forgotten by the scope when its connection ends');
  });

  it('keeps a configured token a secret after its connection ends', async () => {
    const sim = await simulator();
    const token = await loginToken(sim);
    const emitter = new CaptureEmitter();
    const source = new SysadmSource(config(sim.url, { username: '', password: '', token, tls: { ca_file: sim.certFile, insecure_skip_verify: false } }), { emitter, log: silentLog });
    cleanups.push(() => source.stop());
    source.start();
    await waitFor('established', () => source.status().connected);
    sim.closeAll();
    await waitFor('a second auth_token', () => count(sim, 'rpc auth_token') >= 2);
    await source.stop();
    assert.equal(scrub(`token ${token}`), 'token [REDACTED]');
  });
});
