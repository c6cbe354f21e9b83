import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SysadmSource } from '../../../src/sources/sysadm/source.js';
import { SysadmSimulator } from '../../../src/simulators/sysadm.js';
import type { SysadmConfig } from '../../../src/sources/sysadm/config.js';
import { CaptureEmitter, selfMetric, silentLog } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/clock.js';
import { waitFor } from '../../helpers/net.js';

const USER = 'monitor';
const PASS = 'correct horse battery';
// A real server's policy: 5 refused logins from one address within 10 minutes block it for an hour.
const LOCKOUT = { attempts: 5, windowMs: 600_000, blockMs: 3_600_000 };
let n = 0;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The simulator and the source share one fake clock: the slow waits advance the server's lockout window too. */
async function rig(password: string, over: Partial<SysadmConfig> = {}) {
  const clock = new FakeClock();
  const sim = new SysadmSimulator({ users: { [USER]: PASS }, hostname: 'nas', lockout: LOCKOUT, now: clock.now });
  await sim.start();
  cleanups.push(() => sim.stop());
  const cfg: SysadmConfig = {
    name: `sysadm-lockout-${++n}`, type: 'sysadm', url: sim.url, username: USER, password, token: '',
    events: ['system-state'], identify_interval: 5 * 60_000, poll: { interval: 0, actions: ['memorystats'] },
    resource: {}, metrics: [], reconnect: { initial_interval: 20, max_interval: 100 }, keepalive: { interval: 60_000, timeout: 30_000 },
    max_frame_bytes: 16 * 1024 * 1024, tls: { ca_file: sim.certFile, insecure_skip_verify: false }, ...over,
  };
  const source = new SysadmSource(cfg, { emitter: new CaptureEmitter(), log: silentLog, clock });
  cleanups.push(() => source.stop());
  return { sim, source, cfg, clock };
}

describe('sysadm: a wrong password never locks the address out', () => {
  it('keeps refused logins under the lockout threshold over an hour of retries with the default schedule', async () => {
    const { sim, source, cfg, clock } = await rig('wrong');
    source.start();
    await waitFor('an hour of retries on the fake clock', () => clock.t - Date.UTC(2026, 0, 1) >= 3_600_000);
    assert.equal(sim.lockouts, 0, 'the address was never blocked');
    assert.equal(sim.blockedConnections, 0);
    assert.ok(sim.authFailures >= 4, `${sim.authFailures} refused logins`);
    assert.ok(clock.sleeps.every((ms) => ms >= 60_000), `waits ${clock.sleeps.join(',')}`);
    assert.ok((await selfMetric('connectFailures', { source: cfg.name, reason: 'auth' })) >= 4);
    assert.equal(source.status().problem, 'auth');
  });

  it('stays under the threshold even with a short auth schedule (the lockout guard holds off)', async () => {
    const { sim, source, clock } = await rig('wrong', { auth_retry: { initial_interval: 1000, max_interval: 1000 } });
    source.start();
    await waitFor('twenty minutes of retries on the fake clock', () => clock.t - Date.UTC(2026, 0, 1) >= 1_200_000);
    assert.equal(sim.lockouts, 0, 'the address was never blocked');
    assert.ok(sim.authFailures >= 8, `${sim.authFailures} refused logins over two windows`);
  });

  it('reports a socket accepted and closed at once as a likely lockout, on the slow schedule', async () => {
    const { sim, source, cfg, clock } = await rig(PASS);
    sim.block('127.0.0.1');
    sim.block('::ffff:127.0.0.1');
    source.start();
    await waitFor('two waits', () => clock.sleeps.length >= 2);
    assert.ok(sim.blockedConnections >= 2);
    assert.equal(sim.authFailures, 0, 'not one login sent to a blocked server');
    assert.deepEqual(clock.sleeps.slice(0, 2), [60_000, 120_000]);
    assert.ok((await selfMetric('connectFailures', { source: cfg.name, reason: 'lockout' })) >= 2);
    const st = source.status();
    assert.equal(st.problem, 'lockout');
    assert.match(st.detail, /likely lock/);
  });
});
