import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_ENGINE_NODE, SEED_VPN_ENDPOINT, SmcSimulator, type SmcSimulatorOptions } from '../../../src/simulators/smc.js';
import type { SmcSource } from '../../../src/sources/smc/source.js';
import { waitFor } from '../../helpers/net.js';
import { selfMetric, sourceRig } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/clock.js';
import { makeSource, type Made } from './helpers.js';
import { SecretScope } from '../../../src/telemetry/secrets.js';

// The SMC's REST half (login.ts) against a simulator that enforces each field behaviour: the two ways
// an SMC tracks sessions, the version check, refused and rate-limited logins.

const KEY = 'smc-login-test-key-0123456789';
/** The source's default slow schedule after a refused credential (helpers.ts shortens it to 1 s). */
const DEFAULT_AUTH_RETRY = { initial_interval: '1m', max_interval: '30m' };

/** The subprotocols an upgrade offered, in order. */
function offered(header: string | undefined): string[] {
  return (header ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

describe('SMC login', () => {
  const rig = sourceRig<SmcSimulator, SmcSource>();

  const startSim = (opts: Partial<SmcSimulatorOptions> = {}): Promise<SmcSimulator> => rig.serve(new SmcSimulator({ apiKey: KEY, ...opts }));

  function start(made: Made): Made {
    rig.run(made.source);
    return made;
  }

  it('in SSL-session mode logs in once, presents the Authorization token on both sockets as the access_token subprotocol, and logs out with it', async () => {
    const s = await startSim({ sessionMode: 'ssl' });
    const made = start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'], elements: [s.href('7.2', SEED_VPN_ENDPOINT), s.href('7.2', SEED_ENGINE_NODE)] }));
    await waitFor('both sockets established', () => rig.source!.status().connected);
    assert.equal(s.logins, 1, 'one login shared by both sockets');
    assert.equal(s.tokens.length, 1);
    const token = s.tokens[0]!;
    assert.deepEqual(s.upgrades.map((u) => u.status), [101, 101]);
    for (const u of s.upgrades) {
      assert.deepEqual(offered(u.headers['sec-websocket-protocol']), ['access_token', token]);
      assert.equal(u.headers.cookie, undefined, 'no cookie to send');
      assert.equal(u.headers.origin, undefined);
    }
    await waitFor('the seed VPN status', () => made.out.points().some((p) => p.name === 'smc.element.packet_loss' && p.value === 3.61));
    s.change('create', 'elements/host/1732');
    await waitFor('an event', () => made.out.records().length >= 1);

    await rig.source!.stop();
    rig.source = undefined;
    const logout = s.requests.find((r) => r.path === '/7.2/logout');
    assert.equal(logout?.status, 204, 'logout carried the token');
    assert.equal(logout.headers.authorization, token);
    assert.equal(s.logouts, 1);
    assert.equal(s.activeSessions, 0);
    assert.ok(!made.logs.some((l) => l.includes(token)), 'the token reached a log line');
  });

  it('in SSL-session mode logs in again after the session expires, with a new token on the new sockets', async () => {
    const s = await startSim({ sessionMode: 'ssl' });
    start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'], elements: [s.href('7.2', SEED_ENGINE_NODE)] }));
    await waitFor('established', () => rig.source!.status().connected);
    s.expireSessions();
    await waitFor('a second login and both sockets back', () => s.logins === 2 && s.open('notification') === 1 && s.open('status') === 1 && rig.source!.status().connected);
    const upgraded = s.upgrades.filter((u) => u.status === 101).map((u) => offered(u.headers['sec-websocket-protocol']));
    assert.deepEqual(upgraded.slice(2), [['access_token', s.tokens[1]], ['access_token', s.tokens[1]]]);
  });

  it('in SSL-session mode refuses a token no subprotocol can carry as a refused login, waits on the auth schedule and logs that session out', async () => {
    const s = await startSim({ sessionMode: 'ssl', newToken: () => 'Bearer abc/def==' });
    const clock = new FakeClock();
    const made = start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'], auth_retry: DEFAULT_AUTH_RETRY }, { clock }));
    await waitFor('two waits', () => clock.sleeps.length >= 2);
    assert.deepEqual(clock.sleeps.slice(0, 2), [60_000, 120_000]);
    assert.equal(s.upgrades.length, 0, 'no upgrade attempted');
    assert.equal(rig.source!.status().problem, 'auth');
    assert.match(rig.source!.status().detail, /subprotocol cannot carry/);
    await waitFor('each such session logged out', () => s.logouts >= 2 && s.activeSessions <= 1);
    assert.ok(!made.logs.some((l) => l.includes('abc/def==')), 'the token reached a log line');
  });

  it('keeps each session\'s token in its own secret scope while it lives and forgets it at logout', async () => {
    const s = await startSim({ sessionMode: 'ssl' });
    const secrets = new SecretScope('test-smc');
    start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'] }, { secrets }));
    await waitFor('established', () => rig.source!.status().connected);
    assert.deepEqual([...secrets], [s.tokens[0]], 'the live token, in a session scope');
    assert.equal(secrets.sessions, 1);
    s.expireSessions();
    await waitFor('logged in again', () => s.logins === 2 && rig.source!.status().connected);
    await waitFor('the expired session ended', () => secrets.sessions === 1);
    assert.deepEqual([...secrets], [s.tokens[1]], 'only the new token is held');
    await rig.source!.stop();
    rig.source = undefined;
    assert.equal(secrets.size, 0, 'nothing held after logout');
    assert.equal(secrets.sessions, 0);
  });

  it('prefers the JSESSIONID cookie when the login sets one beside an Authorization header', async () => {
    const s = await startSim(); // cookie mode; 7.2 also sends an Authorization header
    start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'] }));
    await waitFor('established', () => rig.source!.status().connected);
    const u = s.upgrades[0]!;
    assert.match(String(u.headers.cookie), /^JSESSIONID=/);
    assert.equal(u.headers['sec-websocket-protocol'], undefined);
  });

  it('uses a configured api_version only when GET /api lists it, else the newest listed, with one warning', async () => {
    const s = await startSim({ versions: ['6.10', '7.1'] });
    const made = start(makeSource({ url: s.url, api_key: KEY, api_version: '7.2', contexts: ['*'] }));
    await waitFor('established', () => rig.source!.status().connected);
    assert.deepEqual(s.requests.filter((r) => r.path.endsWith('/login')).map((r) => [r.path, r.status]), [['/7.1/login', 200]]);
    assert.equal(s.upgrades[0]!.path, '/7.1/notification/socket');
    // A second login (the session expired) uses the same fallback and does not warn again.
    s.expireSessions();
    await waitFor('logged in again', () => s.logins === 2 && rig.source!.status().connected);
    const warnings = made.logs.filter((l) => l.includes('does not list the configured api_version'));
    assert.equal(warnings.length, 1);
    assert.equal(JSON.parse(warnings[0]!).using, '7.1');
  });

  it('uses a configured api_version that GET /api lists, even when it is not the newest', async () => {
    const s = await startSim();
    const made = start(makeSource({ url: s.url, api_key: KEY, api_version: '7.1', contexts: ['*'] }));
    await waitFor('established', () => rig.source!.status().connected);
    assert.equal(s.requests[0]!.path, '/api', 'the version list was asked first');
    assert.equal(s.upgrades[0]!.path, '/7.1/notification/socket');
    assert.ok(!made.logs.some((l) => l.includes('does not list')));
  });

  it('waits on the slow auth schedule after a refused login: 1 min, then doubling, counted with reason auth', async () => {
    const s = await startSim();
    const clock = new FakeClock();
    const made = start(makeSource({ url: s.url, api_key: 'wrong-key-1234', contexts: ['*'], auth_retry: DEFAULT_AUTH_RETRY }, { clock }));
    await waitFor('three waits', () => clock.sleeps.length >= 3);
    assert.deepEqual(clock.sleeps.slice(0, 3), [60_000, 120_000, 240_000]);
    assert.ok(s.loginFailures >= 3 && s.loginFailures <= clock.sleeps.length + 1, 'one refused login per wait');
    assert.ok((await selfMetric('connectFailures', { source: made.cfg.name, reason: 'auth' })) >= 3);
    assert.ok((await selfMetric('authFailures', { source: made.cfg.name })) >= 3);
    const st = rig.source!.status();
    assert.equal(st.connected, false);
    assert.equal(st.problem, 'auth');
    assert.match(st.detail, /auth refused: login refused with HTTP 401.*next try in/);
    assert.equal(s.upgrades.length, 0, 'no socket without a session');
  });

  it('honours Retry-After on a login answered 429, then logs in and subscribes', async () => {
    const s = await startSim({ rateLimit: { logins: 2, retryAfterS: 45 } });
    const clock = new FakeClock();
    const made = start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'] }, { clock }));
    await waitFor('established after the waits', () => rig.source!.status().connected);
    assert.equal(s.rateLimited, 2);
    assert.deepEqual(clock.sleeps, [45_000, 45_000]);
    assert.equal(await selfMetric('connectFailures', { source: made.cfg.name, reason: 'rate_limited' }), 2);
    assert.equal(await selfMetric('authFailures', { source: made.cfg.name }), 0, 'a 429 is not a refused credential');
  });

  it('waits 30 s after a login answered 429 without Retry-After', async () => {
    const s = await startSim({ rateLimit: { logins: 1 } });
    const clock = new FakeClock();
    start(makeSource({ url: s.url, api_key: KEY, contexts: ['*'] }, { clock }));
    await waitFor('established after the wait', () => rig.source!.status().connected);
    assert.equal(s.rateLimited, 1);
    assert.deepEqual(clock.sleeps, [30_000]);
  });
});
