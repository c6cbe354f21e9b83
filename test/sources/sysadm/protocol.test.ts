import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sysadmSource } from '../../../src/sources/sysadm/source.js';
import { STATIC_TOKEN_REFUSED, SysadmProtocol } from '../../../src/sources/sysadm/protocol.js';
import type { SysadmConfig } from '../../../src/sources/sysadm/config.js';
import type { Link, Meaning } from '../../../src/sources/protocol.js';
import { AuthError } from '../../../src/net/errors.js';
import { SecretScope } from '../../../src/telemetry/secrets.js';
import { sourceMetrics } from '../../../src/telemetry/metrics.js';
import { Registry } from 'prom-client';
import { scrub } from '../../../src/telemetry/logger.js';
import { CaptureEmitter, metricValue, silentLog, sourceConfig } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/clock.js';

// The sysadm protocol alone: frames in, meanings out, no socket. What a real server would answer is
// written out as the frames it sends.

const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort(); // stops the protocol's timers
});

function rig(over: Record<string, unknown> = {}) {
  const cfg = sourceConfig<SysadmConfig>(sysadmSource, { url: 'wss://nas.example.org', username: 'monitor', password: 'pw-1234', ...over });
  // A context of the test's own: its secret scope and metrics are read directly, nothing global.
  const secrets = new SecretScope('test');
  const metrics = sourceMetrics(new Registry());
  const p = new SysadmProtocol(cfg, { emitter: new CaptureEmitter(), log: silentLog, clock: new FakeClock(), secrets, metrics });
  const authFailures = () => metricValue(metrics.authFailures, { source: cfg.name });
  return { p, secrets, cfg, authFailures };
}

/** Opens a connection: the frames sent, and a `reply` that answers our request of that name. */
function connect(p: SysadmProtocol) {
  const abort = new AbortController();
  aborts.push(abort);
  const sent: { namespace: string; name: string; id: string; args: unknown }[] = [];
  const link: Link = { send: (t) => sent.push(JSON.parse(t)), deliver: () => undefined, signal: abort.signal };
  const take = <T extends { send?: string[] }>(m: T): T => {
    for (const f of m.send ?? []) sent.push(JSON.parse(f));
    return m;
  };
  const opening = take(p.open(link));
  const lastId = (name: string) => [...sent].reverse().find((m) => m.name === name)!.id;
  const frame = (v: unknown) => take(p.frame(v, { bytes: 1, receivedMs: 1000 })) as Meaning;
  const reply = (name: string, args: unknown) => frame({ namespace: name === 'subscribe' ? 'events' : 'rpc', name: 'response', id: lastId(name), args });
  const error = (name: string, code: string) => frame({ namespace: 'error', name: 'error', id: lastId(name), args: { code, message: 'x' } });
  const close = () => {
    abort.abort();
    return p.closed();
  };
  return { sent, opening, frame, reply, error, close, link };
}

/** identify (server), auth, subscribe answered: an established connection. */
function established(p: SysadmProtocol, token = 'a'.repeat(32)) {
  const c = connect(p);
  c.reply('identify', { type: 'server', hostname: 'nas1' });
  c.reply(c.sent.some((m) => m.name === 'auth_token') ? 'auth_token' : 'auth', [token, 900]);
  const acks = c.reply('subscribe', { subscribe: 'system-state' }).acks;
  assert.deepEqual(acks, ['dispatcher', 'life-preserver', 'system-state'].map((name) => ({ name, ok: true })), 'one subscription per class');
  return c;
}

describe('sysadm protocol: frame in, meaning out', () => {
  it('sends identify at open and the credentials only once identify answers type "server"', () => {
    const { p } = rig();
    const c = connect(p);
    assert.deepEqual(c.sent.map((m) => m.name), ['identify']);
    assert.deepEqual(c.opening.expect, ['dispatcher', 'life-preserver', 'system-state']);
    c.reply('identify', { type: 'server', hostname: 'nas1' });
    assert.deepEqual(c.sent.map((m) => `${m.namespace} ${m.name}`), ['rpc identify', 'rpc auth']);
    assert.deepEqual(c.sent[1]!.args, { username: 'monitor', password: 'pw-1234' });
    assert.equal(p.resource()['host.name'], 'nas1');
  });

  it('fails a bridge (or an identify with no type) with an AuthError naming it, and sends no credentials', async () => {
    for (const args of [{ type: 'bridge' }, { hostname: 'x' }]) {
      const { p, authFailures } = rig();
      const c = connect(p);
      const m = c.reply('identify', args);
      assert.ok(m.fail instanceof AuthError);
      assert.equal(await authFailures(), 0, 'no credential was refused');
      assert.match(m.fail.message, /not "server": a sysadm bridge \(port 12149\) needs different auth/);
      assert.deepEqual(c.sent.map((x) => x.name), ['identify']);
    }
  });

  it('logs in again with the password when a token call answers 401 (not a refused credential), once per refusal', () => {
    const { p, secrets } = rig({ poll: { interval: '1h', actions: ['memorystats'] } });
    const c = established(p, 'a'.repeat(32));
    const m = c.error('systemmanager', '401');
    assert.equal(m.fail, undefined);
    assert.deepEqual(c.sent.filter((x) => x.name === 'auth').length, 2, 'a second rpc auth');
    c.reply('auth', ['b'.repeat(32), 900]);
    assert.deepEqual([...secrets], ['b'.repeat(32)], 'the replaced token is forgotten');
    assert.equal(c.sent.filter((x) => x.name === 'subscribe').length, 1, 'the subscription still stands');
  });

  it('goes to the slow schedule when the token it was just given is refused (no login loop)', () => {
    const { p } = rig({ poll: { interval: '1h', actions: ['memorystats'] } });
    const c = connect(p);
    c.reply('identify', { type: 'server' });
    c.reply('auth', ['a'.repeat(32), 900]);
    const m = c.error('subscribe', '401');
    assert.ok(m.fail instanceof AuthError);
    assert.equal(c.sent.filter((x) => x.name === 'auth').length, 1);
  });

  it('fails with "static token refused; it expired or the server restarted" when a configured token is refused, at login or on a call', async () => {
    const token = 'c'.repeat(32);
    const atLogin = rig({ username: '', password: '', token });
    const a = connect(atLogin.p);
    a.reply('identify', { type: 'server' });
    assert.deepEqual(a.sent[1]!.args, { token });
    const m1 = a.error('auth_token', '401');
    assert.ok(m1.fail instanceof AuthError);
    assert.ok(m1.fail.message.startsWith(STATIC_TOKEN_REFUSED));
    assert.equal(await atLogin.authFailures(), 1);
    const onCall = rig({ username: '', password: '', token, poll: { interval: '1h', actions: ['memorystats'] } });
    const b = established(onCall.p, token);
    const m2 = b.error('systemmanager', '401');
    assert.ok(m2.fail instanceof AuthError);
    assert.match(m2.fail.message, /static token refused; it expired or the server restarted/);
    assert.equal(await onCall.authFailures(), 1);
    b.close();
    assert.equal(onCall.secrets.size, 0, 'the login scope ended with the connection');
    assert.equal(scrub(`token ${token}`), 'token [REDACTED]', 'the configured token is still a secret: the config put it in the source\'s own scope');
  });

  it('keeps the registered secrets from growing: after 20 re-logins only the live connection\'s token is registered, none after it ends', () => {
    const { p, secrets } = rig();
    for (let i = 0; i < 20; i++) {
      const c = established(p, `token-${String(i).padStart(26, '0')}`);
      assert.equal(secrets.size, 1);
      assert.equal(secrets.sessions, 1);
      c.close();
    }
    assert.equal(secrets.size, 0);
    assert.equal(secrets.sessions, 0, 'no login scope left behind');
  });

  it('skips the replay of the last event after a re-subscribe and counts it; a new event passes', () => {
    const { p } = rig();
    const lp = { message: '2026-01-01T00:00:00Z: snap', priority: '1 - Information', class: 'snapshot' };
    const push = (c: ReturnType<typeof connect>, args: unknown) => c.frame({ namespace: 'events', name: 'life-preserver', id: '', args });
    const a = established(p);
    assert.equal(push(a, lp).envelopes?.length, 1);
    a.close();
    const b = established(p);
    assert.deepEqual(push(b, lp).rejects, [{ reason: 'replayed', detail: { event: 'life-preserver' } }]);
    assert.equal(push(b, { ...lp, message: '2026-01-01T00:01:00Z: next' }).envelopes?.length, 1);
  });

  it('maps the sound pools of a system-state and rejects each shifted row as shifted_columns', () => {
    const { p } = rig();
    const c = established(p);
    const m = c.frame({
      namespace: 'events', name: 'system-state', id: '',
      args: { hostname: 'nas1', zpools: { tank: { size: '107G', health: 'SUSPENDED' }, backup: { size: '3.62T', dedup: '21%', health: '1.00x' } } },
    });
    assert.deepEqual(m.rejects, [{ reason: 'shifted_columns', detail: { pool: 'backup' } }]);
    const pools = new Set(m.envelopes![0]!.metrics.toArray().map((x) => x.attributes['sysadm.zpool.name']));
    assert.deepEqual([...pools], ['tank']);
  });

  it('treats the bridge message and an empty cache as control, not as unmapped', () => {
    const { p } = rig();
    const c = established(p);
    assert.deepEqual(c.frame({ namespace: 'events', name: 'bridge', id: '', args: { available_connections: [] } }), { control: true });
    assert.deepEqual(c.frame({ namespace: 'events', name: 'dispatcher', id: '', args: '' }), { control: true });
  });

  it('reports a socket closed before any frame as a likely lockout', () => {
    const { p } = rig();
    const c = connect(p);
    assert.equal((c.close() as Error | undefined)?.name, 'LockoutSuspected');
  });
});
