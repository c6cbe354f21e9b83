import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Envelope } from '../../../src/model.js';
import { nxapiSource, type NxapiSource } from '../../../src/sources/nxapi/source.js';
import type { NxapiConfig } from '../../../src/sources/nxapi/config.js';
import { CaptureEmitter, selfMetric, sourceConfig } from '../../helpers/capture.js';
import { NxapiSimulator, type NxapiSimulatorOptions } from '../../../src/simulators/nxapi.js';
import { FakeClock } from '../../helpers/clock.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { secretRoot, type SecretScope } from '../../../src/telemetry/secrets.js';

// The source against the simulator in-process. Deadlines are scaled down ×100 (subscription timeout
// 900 ms for the switch's 90 s, token lifetime 2 s) so that minutes of protocol time pass in seconds.

const USER = 'monitor';
const PASS = 'pa55-word-for-tests';

interface Rig {
  sim: NxapiSimulator;
  src: NxapiSource;
  name: string;
  envs: Envelope[];
  logs: string[];
  records(): number;
}

const rigs: Rig[] = [];

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.src.stop();
    await r.sim.stop();
  }
});

async function rig(
  simOpts: Partial<NxapiSimulatorOptions> = {}, cfgOrFn: Partial<NxapiConfig> | ((sim: NxapiSimulator) => Partial<NxapiConfig>) = {}, clock?: FakeClock,
  secrets?: SecretScope,
): Promise<Rig> {
  const sim = new NxapiSimulator({ username: USER, password: PASS, intervalMs: 100, subscriptionTimeoutMs: 900, tokenLifetimeMs: 2000, ...simOpts });
  await sim.start();
  const cfg = typeof cfgOrFn === 'function' ? cfgOrFn(sim) : cfgOrFn;
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) });
  let config: NxapiConfig;
  try {
    config = sourceConfig(nxapiSource, {
      url: sim.url, username: USER, password: PASS,
      queries: ['/api/class/rmonIfIn.json', '/api/class/ethpmPhysIf.json', '/api/mo/sys/intf/phys-[eth1/1].json'],
      subscription_refresh_interval: 300, token_refresh_interval: 0, request_timeout: 2000,
      auth_retry: { initial_interval: 50, max_interval: 300 },
      keepalive: { interval: 30_000, timeout: 20_000 }, max_frame_bytes: 1024 * 1024,
      ...cfg,
    });
  } catch (err) {
    await sim.stop(); // a refused config must not leave the simulator's timers holding the test process
    throw err;
  }
  const emitter = new CaptureEmitter();
  const src = nxapiSource.create(config, { emitter, log, ...(clock ? { clock } : {}), ...(secrets ? { secrets } : {}) }) as NxapiSource;
  // The vendor's data only: the source's own up gauge and gap records are not the switch's.
  const r: Rig = { sim, src, name: config.name, get envs() { return emitter.data(); }, logs, records: () => emitter.records().length };
  rigs.push(r);
  src.start();
  return r;
}

/** Waits until the source has mapped `n` more notification records than now. */
async function flowing(r: Rig, n = 5): Promise<void> {
  const from = r.records();
  await waitFor(`${n} more notifications mapped`, () => r.records() >= from + n);
}

describe('nxapi source against the simulator', () => {
  it('honours Retry-After when a REST call (aaaLogin) is answered 429, then logs in and subscribes', async () => {
    const clock = new FakeClock();
    const r = await rig({ rateLimit: { calls: 2, retryAfterS: 45 } }, {}, clock);
    await waitFor('subscribed after the waits', () => r.src.status().connected);
    assert.equal(r.sim.rateLimited, 2);
    assert.deepEqual(clock.sleeps, [45_000, 45_000]);
    assert.equal(await selfMetric('connectFailures', { source: r.name, reason: 'rate_limited' }), 2);
  });

  it('waits 30 s after a REST 429 without Retry-After', async () => {
    const clock = new FakeClock();
    const r = await rig({ rateLimit: { calls: 1 } }, {}, clock);
    await waitFor('subscribed after the wait', () => r.src.status().connected);
    assert.deepEqual(clock.sleeps, [30_000]);
  });

  it('counts a refused login as an auth failure and never opens the socket', async () => {
    const r = await rig({}, { password: 'wrong-password' });
    await waitFor('two refused logins', async () => (await selfMetric('authFailures', { source: r.name })) >= 2);
    assert.ok(r.sim.stats.loginFailures >= 2);
    assert.equal(r.sim.stats.upgrades, 0);
    assert.equal(r.src.status().connected, false);
    assert.match(r.src.status().detail, /aaaLogin refused/);
    assert.ok(!r.logs.some((l) => l.includes('wrong-password')), 'the password was logged');
  });

  it('subscribes each query over HTTP with subscription=yes and emits each reply\'s imdata as the first snapshot', async () => {
    const r = await rig({ intervalMs: 0 }, { queries: ['/api/class/rmonIfIn.json', '/api/mo/sys/intf/phys-[eth1/1].json', '/api/mo/sys.json'] });
    await waitFor('established', () => r.src.status().connected);
    assert.equal(r.sim.stats.subscriptionsCreated, 3);
    assert.deepEqual(r.sim.requests.filter((q) => q.includes('subscription=yes')), [
      '/api/class/rmonIfIn.json?subscription=yes', '/api/mo/sys/intf/phys-[eth1/1].json?subscription=yes', '/api/mo/sys.json?subscription=yes',
    ]);
    assert.equal(await selfMetric('subscriptions', { source: r.name, state: 'active' }), 3);
    // rmonIfIn: 4 ports × 7 counters; l1PhysIf eth1/1: adminSt (0/1 and as states up, down) and mtu;
    // topSystem (unmapped): a snapshot record.
    const [counters, phys, sys] = r.envs;
    assert.equal(counters!.metrics.length, 28);
    const io = counters!.metrics.toArray().find((p) => p.name === 'nxapi.interface.io' && p.attributes['network.interface.name'] === 'eth1/3')!;
    assert.equal(io.value, 3_000_000);
    assert.deepEqual(phys!.metrics.toArray().map((p) => [p.name, p.attributes.state ?? '', p.value]), [
      ['nxapi.interface.admin.status', '', 1], ['nxapi.interface.admin.state', 'up', 1], ['nxapi.interface.admin.state', 'down', 0], ['nxapi.interface.mtu', '', 9216],
    ]);
    assert.equal(sys!.logs[0]!.eventName, 'nxapi.mo.snapshot');
    assert.equal(sys!.logs[0]!.attributes['nxapi.attr.name'], 'sim-n9k');
  });

  it('keeps every subscription and the token alive over minutes of protocol time: the simulator never expires anything', async () => {
    const r = await rig();
    await waitFor('established', () => r.src.status().connected);
    const started = Date.now();
    // Six token refreshes at half of a 2 s lifetime: three token lifetimes and over six subscription
    // timeouts; at ×100 scale that is ten minutes of a switch's 90 s subscription deadline.
    for (let i = 1; i <= 6; i++) {
      await waitFor(`token refresh ${i}`, () => r.sim.stats.tokenRefreshes >= i, 10_000);
      await flowing(r, 4); // notifications keep arriving on the same socket after every refresh
    }
    assert.ok(Date.now() - started >= 3 * r.sim.tokenLifetimeMs - 500, 'ran for at least three token lifetimes');
    assert.equal(r.sim.stats.expiredSubscriptions, 0, 'a subscription lapsed');
    assert.equal(r.sim.stats.expiredTokens, 0, 'the token lapsed');
    assert.equal(r.sim.stats.refreshFailures, 0);
    assert.equal(r.sim.stats.forbidden, 0, 'a REST call used a retired token');
    assert.equal(r.sim.stats.logins, 1);
    assert.equal(r.sim.stats.upgrades, 1);
    assert.equal(r.sim.liveSubscriptions, 3);
    assert.ok(r.sim.stats.subscriptionRefreshes >= 3 * 15, `only ${r.sim.stats.subscriptionRefreshes} subscription refreshes`);
  });

  it('loses its subscriptions to the simulator when it refreshes too seldom (the deadline is real)', async () => {
    const r = await rig({}, { subscription_refresh_interval: 60_000 });
    await waitFor('established', () => r.src.status().connected);
    await waitFor('subscriptions expired', () => r.sim.stats.expiredSubscriptions >= 3);
    const sent = r.sim.stats.notificationsSent;
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.sim.stats.notificationsSent, sent, 'notifications went on for expired subscriptions');
  });

  it('logs in again and re-subscribes when the token expires: 403 and a closed socket', async () => {
    const r = await rig({ tokenLifetimeMs: 1000 }, { token_refresh_interval: 60_000 });
    await waitFor('established', () => r.src.status().connected);
    await waitFor('the token to expire', () => r.sim.stats.expiredTokens >= 1);
    await waitFor('a second login', () => r.sim.stats.logins >= 2);
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 6);
    await flowing(r);
  });

  it('restarts on a 403 to a subscription refresh even when the socket stays open', async () => {
    const r = await rig();
    await waitFor('established', () => r.src.status().connected);
    await flowing(r);
    r.sim.expireSessions(false);
    await waitFor('a REST call refused with 403', () => r.sim.stats.forbidden >= 1);
    await waitFor('a second login', () => r.sim.stats.logins >= 2);
    await waitFor('a second socket', () => r.sim.stats.upgrades >= 2);
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 6);
    await flowing(r);
  });

  it('reconnects, logs in again and re-subscribes after the server closes the socket', async () => {
    const r = await rig();
    await waitFor('established', () => r.src.status().connected);
    await flowing(r);
    r.sim.closeSockets(1011, 'internal error');
    await waitFor('a second socket', () => r.sim.stats.upgrades >= 2);
    assert.equal(r.sim.stats.logins, 2, 'a new connection starts with a new login');
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 6);
    await waitFor('established again', () => r.src.status().connected);
    await flowing(r);
    assert.ok((await selfMetric('reconnects', { source: r.name })) >= 1);
  });

  it('subscribes a query again when its refresh is refused, without a new login', async () => {
    const r = await rig();
    await waitFor('established', () => r.src.status().connected);
    r.sim.forgetSubscriptions();
    await waitFor('a refused refresh', () => r.sim.stats.refreshFailures >= 1);
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 6 && r.sim.liveSubscriptions === 3);
    assert.equal(r.sim.stats.logins, 1);
    assert.equal(r.sim.stats.upgrades, 1);
    await flowing(r);
  });

  it('counts malformed, unknown and bad frames while the stream continues', async () => {
    const r = await rig({ faults: { malformedEvery: 3, unknownEvery: 4, badPayloadEvery: 5 } });
    await waitFor('established', () => r.src.status().connected);
    for (const reason of ['malformed_json', 'unknown_type', 'bad_payload']) {
      await waitFor(`a ${reason} frame counted`, async () => (await selfMetric('framesRejected', { source: r.name, reason })) >= 2);
    }
    await flowing(r, 10);
    assert.equal(r.sim.stats.upgrades, 1, 'bad frames do not cost the connection');
  });

  it('counts an oversized frame, then reconnects and re-subscribes', async () => {
    const r = await rig({ faults: { oversizedEvery: 20, oversizedBytes: 200_000 } }, { max_frame_bytes: 64 * 1024 });
    await waitFor('established', () => r.src.status().connected);
    await waitFor('an oversized frame counted', async () => (await selfMetric('framesRejected', { source: r.name, reason: 'oversized' })) >= 1);
    await waitFor('a second login', () => r.sim.stats.logins >= 2);
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 6);
    await flowing(r);
  });

  it('never logs a token, the socket URL or the password; logs out the old session on reconnect and the live one on stop', async () => {
    const r = await rig();
    await waitFor('established', () => r.src.status().connected);
    await waitFor('a token refresh', () => r.sim.stats.tokenRefreshes >= 1);
    r.sim.closeSockets();
    await waitFor('a second socket', () => r.sim.stats.upgrades >= 2);
    await r.src.stop();
    assert.equal(r.sim.stats.logouts, 2, 'one logout for the session whose socket closed, one on stop');
    assert.equal(r.sim.liveSessions, 0, 'a session was left open on the switch');
    assert.ok(r.logs.length > 5);
    const text = r.logs.join('');
    assert.ok(r.sim.tokensIssued.length >= 3);
    for (const t of r.sim.tokensIssued) assert.ok(!text.includes(t), 'a token was logged');
    assert.ok(!text.includes('/socket'), 'the socket URL was logged');
    assert.ok(!text.includes(PASS), 'the password was logged');
  });
});

describe('nxapi source: what real switches and APIC clusters do', () => {
  const logsOf = (r: Rig, event: string) => r.envs.flatMap((e) => e.logs).filter((l) => l.eventName === event);
  const pointsOf = (r: Rig, metric: string) => r.envs.flatMap((e) => e.metrics.toArray()).filter((p) => p.name === metric);

  it('refreshes the token with POST on nxos (the default) and with GET on apic, each accepted by its platform', async () => {
    for (const platform of ['nxos', 'apic'] as const) {
      const r = await rig({ platform }, platform === 'apic' ? { platform } : {});
      await waitFor(`a token refresh on ${platform}`, () => r.sim.stats.tokenRefreshes >= 2);
      assert.equal(r.sim.stats.wrongMethodRefreshes, 0);
      assert.equal(r.sim.stats.logins, 1, 'a refused refresh forced a new login');
    }
  });

  it('loses its session when it refreshes the token with the other platform\'s method: the switch refuses it', async () => {
    const r = await rig({ platform: 'nxos' }, { platform: 'apic' });
    await waitFor('a refused refresh', () => r.sim.stats.wrongMethodRefreshes >= 1);
    await waitFor('a new login', () => r.sim.stats.logins >= 2);
    assert.equal(r.sim.stats.tokenRefreshes, 0);
  });

  it('subscribes with refresh-timeout and refreshes at half of it: subscriptions outlive the simulator\'s shorter default deadline', async () => {
    // No refresh-timeout: the simulator drops a subscription after 900 ms. refresh-timeout=3 gives 3 s, refreshed every 1.5 s.
    const r = await rig({}, { subscription_refresh_timeout: 3000, subscription_refresh_interval: 0 });
    await waitFor('established', () => r.src.status().connected);
    const subscribes = r.sim.requests.filter((q) => q.includes('subscription=yes'));
    assert.equal(subscribes.length, 3);
    for (const q of subscribes) assert.match(q, /\?subscription=yes&refresh-timeout=3$/);
    await waitFor('three refresh rounds', () => r.sim.stats.subscriptionRefreshes >= 9);
    assert.equal(r.sim.stats.expiredSubscriptions, 0, 'a subscription lapsed');
    assert.equal(r.sim.stats.subscriptionsCreated, 3);
    await flowing(r);
  });

  it('rotates to the next controller after a failure: the first one down, data flows from the second and status names it', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await rig({}, (sim) => ({ url: '', urls: [down, sim.url] }));
    await waitFor('established', () => r.src.status().connected);
    assert.match(r.src.status().detail, new RegExp(`controller ${r.sim.url.replace(/[.]/g, '\\.')}$`));
    assert.equal(r.sim.stats.logins, 1);
    await flowing(r);
    assert.ok(r.logs.some((l) => l.includes('trying the next controller')));
  });

  it('pages a class query the server refuses as "result dataset is too big" and gets every object', async () => {
    const r = await rig({ maxResults: 3, interfaces: 5 }, { queries: ['/api/class/rmonIfIn.json'], page_size: 2 });
    await waitFor('established', () => r.src.status().connected);
    assert.deepEqual(r.sim.requests.filter((q) => q.startsWith('/api/class/')), [
      '/api/class/rmonIfIn.json?subscription=yes',
      '/api/class/rmonIfIn.json?subscription=yes&page=0&page-size=2',
      '/api/class/rmonIfIn.json?subscription=yes&page=1&page-size=2',
      '/api/class/rmonIfIn.json?subscription=yes&page=2&page-size=2',
    ]);
    const ports = new Set(pointsOf(r, 'nxapi.interface.io').map((p) => p.attributes['network.interface.name']));
    assert.deepEqual([...ports].sort(), ['eth1/1', 'eth1/2', 'eth1/3', 'eth1/4', 'eth1/5']);
    assert.equal(await selfMetric('subscriptions', { source: r.name, state: 'active' }), 1, 'one query, active in all its pages');
    assert.equal(r.sim.liveSubscriptions, 3, 'one subscription per page');
    await flowing(r); // every page's subscription is refreshed and notified
    assert.equal(r.sim.stats.expiredSubscriptions, 0);
  });

  it('maps a reconnect\'s re-subscribe snapshot to current-state metrics again and to no duplicate records', async () => {
    const r = await rig({ intervalMs: 0 }, { queries: ['/api/class/l1PhysIf.json', '/api/mo/sys.json'] });
    await waitFor('established', () => r.src.status().connected);
    r.sim.setAttributes('sys/intf/phys-[eth1/1]', { descr: 'uplink' });
    await waitFor('the change record', () => logsOf(r, 'nxapi.mo.modified').length === 1);
    const admin = pointsOf(r, 'nxapi.interface.admin.status').length;
    assert.equal(admin, 4);
    r.sim.closeSockets();
    await waitFor('re-subscribed', () => r.sim.stats.subscriptionsCreated >= 4);
    await waitFor('established again', () => r.src.status().connected);
    assert.equal(pointsOf(r, 'nxapi.interface.admin.status').length, 8, 'the snapshot\'s metrics came again');
    assert.equal(logsOf(r, 'nxapi.mo.snapshot').length, 1, 'the unchanged topSystem came out a second time');
    assert.equal(logsOf(r, 'nxapi.mo.modified').length, 1);
    assert.equal(r.records(), 2, 'the re-subscribe yielded records');
  });

  it('keeps the token in a per-login secret scope while that login lives, and forgets it when the login ends', async () => {
    const scope = secretRoot.session('nxapi-test-scope');
    try {
      const r = await rig({}, {}, undefined, scope);
      await waitFor('established', () => r.src.status().connected);
      await waitFor('a token refresh', () => r.sim.stats.tokenRefreshes >= 1);
      // The simulator counts the refresh before its answer reaches the source: wait for the source to take it.
      await waitFor('the live token in the login\'s scope', () => [...scope].includes(r.sim.tokensIssued.at(-1)!));
      r.sim.closeSockets();
      await waitFor('a second login', () => r.sim.stats.logins >= 2);
      await waitFor('established again', () => r.src.status().connected);
      assert.equal(scope.sessions, 1, 'the last login\'s scope was not ended');
      const held = [...scope];
      for (const t of r.sim.tokensIssued.slice(0, -1)) assert.ok(!held.includes(t), 'a retired token is still held');
      assert.ok(held.includes(r.sim.tokensIssued.at(-1)!));
      await r.src.stop();
      assert.equal(scope.sessions, 0, 'the login\'s scope outlived stop');
      for (const t of r.sim.tokensIssued) assert.ok(![...scope].includes(t), 'a token is held after stop');
    } finally {
      scope.end();
    }
  });

  it('maps a snapshot larger than the HTTP helper\'s default 64 KiB: every object arrives', async () => {
    const r = await rig({ interfaces: 400, intervalMs: 0 }, { queries: ['/api/class/rmonIfIn.json'] });
    await waitFor('established', () => r.src.status().connected);
    const ports = new Set(pointsOf(r, 'nxapi.interface.io').map((p) => p.attributes['network.interface.name']));
    assert.equal(ports.size, 400);
    assert.equal(await selfMetric('framesRejected', { source: r.name }), 0);
  });
});
