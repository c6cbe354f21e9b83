import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { SysadmSimulator, type SysadmSimulatorOptions } from '../../src/simulators/sysadm.js';
import { RawClient } from '../sources/sysadm/raw_client.js';
import { waitFor } from '../helpers/net.js';

// The simulator must be as strict as the server (protocols.md "sysadm"): a forgiving one hides bugs.

describe('sysadm simulator enforces the protocol', () => {
  const sim = new SysadmSimulator({ users: { admin: 'pw' }, idleTimeoutMs: 400, hostname: 'strict' });
  let ca = '';
  const clients: RawClient[] = [];
  const open = async () => {
    const c = await RawClient.open(sim.url, ca);
    clients.push(c);
    return c;
  };

  before(async () => {
    await sim.start();
    ca = readFileSync(sim.certFile, 'utf8');
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.stop();
  });

  it('serves TLS only, with a certificate a default client does not trust', async () => {
    const ws = new WebSocket(sim.url);
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    assert.match(err.message, /self[- ]signed/i);
    const plain = new WebSocket(sim.url.replace('wss:', 'ws:'));
    await new Promise((resolve) => plain.once('error', resolve).once('close', resolve));
    assert.notEqual(plain.readyState, WebSocket.OPEN);
  });

  it('refuses events before authentication with a 401 error envelope whose code is a string', async () => {
    const c = await open();
    const r = await c.call('events', 'subscribe', 's0', ['system-state']);
    assert.deepEqual(r, { namespace: 'error', name: 'error', id: 's0', args: { code: '401', message: 'Unauthorized' } });
  });

  it('answers identify before auth, auth with ["<token>", 900], and a wrong password with 401', async () => {
    const c = await open();
    assert.deepEqual((await c.call('rpc', 'identify', 'i1', {})).args, { type: 'server', hostname: 'strict' });
    const bad = await c.call('rpc', 'auth', 'a0', { username: 'admin', password: 'nope' });
    assert.deepEqual(bad, { namespace: 'error', name: 'error', id: 'a0', args: { code: '401', message: 'Unauthorized' } });
    const ok = await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    assert.equal(ok.namespace, 'rpc');
    assert.equal(ok.name, 'response');
    assert.match((ok.args as [string, number])[0], /^[0-9a-f]{32}$/);
    assert.equal((ok.args as [string, number])[1], 900);
  });

  it('sends the cached event of each class before the subscribe reply, with hyphenated names and id ""', async () => {
    const c = await open();
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    const before = c.got.length;
    const r = await c.call('events', 'subscribe', 'sub1', ['dispatcher', 'system_state', 'life-preserver']);
    assert.deepEqual(r, { namespace: 'events', name: 'response', id: 'sub1', args: { subscribe: 'life-preserver' } });
    const pushed = c.got.slice(before, -1);
    assert.deepEqual(pushed.map((m) => [m.namespace, m.name, m.id]), [['events', 'dispatcher', ''], ['events', 'life-preserver', '']]);
  });

  it('answers a subscribe with no valid class (the docs\' system_state) with 400, and a single-string subscribe', async () => {
    const c = await open();
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    assert.equal(((await c.call('events', 'subscribe', 'bad', ['system_state'])).args as { code: string }).code, '400');
    assert.deepEqual((await c.call('events', 'subscribe', 'one', 'system-state')).args, { subscribe: 'system-state' });
  });

  it('rejects auth_token with an unknown token and accepts a live one on a new socket', async () => {
    const a = await open();
    const [token] = (await a.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' })).args as [string];
    const b = await open();
    assert.equal(((await b.call('rpc', 'auth_token', 't0', { token: 'f'.repeat(32) })).args as { code: string }).code, '401');
    assert.deepEqual((await b.call('rpc', 'auth_token', 't1', { token })).args, [token, 900]);
  });

  it('sends no reply to auth_clear and forgets the token', async () => {
    const c = await open();
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    c.send({ namespace: 'rpc', name: 'auth_clear', id: 'clr', args: {} });
    const r = await c.call('sysadm', 'systemmanager', 'p1', { action: 'memorystats' });
    assert.equal((r.args as { code: string }).code, '401');
    assert.equal(c.got.filter((m) => m.id === 'clr').length, 0);
  });

  it('answers 400 to a malformed request and 404 to an unknown call', async () => {
    const c = await open();
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    c.send('{not json');
    await waitFor('the 400', () => c.got.some((m) => m.namespace === 'error' && (m.args as { code: string }).code === '400'));
    assert.equal(((await c.call('sysadm', 'nosuchthing', 'n1', {})).args as { code: string }).code, '404');
    assert.equal(((await c.call('sysadm', 'systemmanager', 'n2', { action: 'bogus' })).args as { code: string }).code, '400');
  });

  it('closes a socket that only pings for longer than the idle limit', async () => {
    const c = await open();
    const t = setInterval(() => c.ws.ping(), 50);
    try {
      await waitFor('the idle close', () => c.closed, 5000);
    } finally {
      clearInterval(t);
    }
    assert.equal(c.closed!.code, 1000);
  });
});

// The field behaviours' modes: each makes the simulator as unforgiving as the real server in one way.
describe('sysadm simulator field behaviour modes', () => {
  const sims: SysadmSimulator[] = [];
  const clients: RawClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const s of sims) await s.stop();
  });
  async function client(opts: Partial<SysadmSimulatorOptions>) {
    const sim = new SysadmSimulator({ users: { admin: 'pw' }, hostname: 'modes', ...opts });
    sims.push(sim);
    await sim.start();
    const c = await RawClient.open(sim.url, readFileSync(sim.certFile, 'utf8'));
    clients.push(c);
    return { sim, c };
  }

  it('extends a token only on authenticated calls: identify keeps the socket but lets the token lapse, query keeps it', async () => {
    let t = 0; // the token clock, moved by hand
    const { c } = await client({ tokenTtlMs: 300, now: () => t });
    const [token, life] = (await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' })).args as [string, number];
    assert.equal(life, 1, 'the scaled lifetime, in whole seconds');
    for (let i = 0; i < 3; i++) {
      t += 200; // each query inside the lifetime extends it: three lifetimes' worth
      assert.equal((await c.call('rpc', 'query', `q${i}`, {})).name, 'response');
    }
    t += 200;
    assert.equal((await c.call('rpc', 'identify', 'i1', {})).name, 'response', 'identify needs no token');
    t += 200; // 400 ms since the last authenticated call; identify did not count
    assert.equal(((await c.call('rpc', 'query', 'late', {})).args as { code: string }).code, '401');
    assert.equal(((await c.call('rpc', 'auth_token', 't1', { token })).args as { code: string }).code, '401');
  });

  it('closes a socket whose token lapsed when told to (closeOnTokenExpiry)', async () => {
    const { sim, c } = await client({ tokenTtlMs: 200, closeOnTokenExpiry: true });
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    await waitFor('the close', () => c.closed, 5000);
    assert.equal(sim.tokenExpiryCloses, 1);
  });

  it('forgets every token and its event cache on restart, and drops every socket', async () => {
    const { sim, c } = await client({});
    const [token] = (await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' })).args as [string];
    sim.restart();
    await waitFor('the drop', () => c.closed);
    const d = await RawClient.open(sim.url, readFileSync(sim.certFile, 'utf8'));
    clients.push(d);
    assert.equal(((await d.call('rpc', 'auth_token', 't1', { token })).args as { code: string }).code, '401');
    await d.call('rpc', 'auth', 'a2', { username: 'admin', password: 'pw' });
    await d.call('events', 'subscribe', 's1', ['life-preserver']);
    assert.deepEqual(d.got.filter((m) => m.name === 'life-preserver').map((m) => m.args), [''], 'nothing cached yet');
    assert.equal(sim.restarts, 1);
  });

  it('as a bridge, identifies as type "bridge" and refuses a server login', async () => {
    const { sim, c } = await client({ bridge: true });
    assert.equal(((await c.call('rpc', 'identify', 'i1', {})).args as { type: string }).type, 'bridge');
    assert.equal(((await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' })).args as { code: string }).code, '401');
    assert.equal(sim.authFailures, 1);
  });

  it('sends a zpool row whose columns shifted by one when told to (shiftedZpool)', async () => {
    const { c } = await client({ shiftedZpool: true });
    await c.call('rpc', 'auth', 'a1', { username: 'admin', password: 'pw' });
    await c.call('events', 'subscribe', 's1', ['system-state']);
    const state = c.got.find((m) => m.name === 'system-state')!.args as { zpools: Record<string, Record<string, string>> };
    assert.equal(state.zpools.backup!.health, '1.00x');
    assert.equal(state.zpools.backup!.altroot, 'ONLINE');
    assert.equal(state.zpools.tank!.health, 'ONLINE');
  });
});
