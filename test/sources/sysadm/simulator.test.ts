import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { SysadmSimulator } from '../../../src/sources/sysadm/simulator.js';
import { RawClient } from './raw_client.js';
import { waitFor } from '../../helpers/net.js';

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
