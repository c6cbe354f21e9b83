import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SEED_ENGINE_NODE, SEED_VPN_ENDPOINT, SmcSimulator, TOO_BIG_REASON, seedVpnStatus } from '../../../src/sources/smc/simulator.js';
import { SEED_VPN_STATUS } from '../../fixtures/smc.js';

// The simulator must be as strict as the SMC: these prove the protocol rules the source relies on.

const KEY = 'sim-test-key-abcdef';

describe('SMC simulator', () => {
  const sim = new SmcSimulator({ apiKey: KEY, maxMessageBytes: 1024 });
  before(() => sim.start());
  after(() => sim.stop());

  async function login(version = '7.2', key = KEY): Promise<Response> {
    return fetch(`${sim.url}/${version}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ authenticationkey: key }) });
  }

  async function cookie(): Promise<string> {
    const res = await login();
    assert.equal(res.status, 200);
    return /JSESSIONID=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  }

  function open(path: string, headers: Record<string, string>): Promise<{ ws: WebSocket; frames: Record<string, unknown>[]; closed: Promise<[number, string]> }> {
    const ws = new WebSocket(`ws://127.0.0.1:${sim.port}${path}`, { headers });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())));
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, frames, closed }));
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(check());
  }

  it('lists its versions at GET /api', async () => {
    const body = (await (await fetch(`${sim.url}/api`)).json()) as { version: { rel: string }[] };
    assert.deepEqual(body.version.map((v) => v.rel), ['6.5', '6.10', '7.1', '7.2']);
  });

  it('answers a wrong key or a non-JSON login with a failure and no cookie', async () => {
    const bad = await login('7.2', 'nope');
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    const form = await fetch(`${sim.url}/7.2/login`, { method: 'POST', body: `authenticationkey=${KEY}` });
    assert.notEqual(form.status, 200);
    assert.equal((await login('9.9')).status, 404);
  });

  it('refuses an upgrade with an Origin header, or without a session', async () => {
    const c = await cookie();
    await assert.rejects(open('/7.2/status/socket', { Cookie: c, Origin: 'http://127.0.0.1' }), /HTTP 403/);
    await assert.rejects(open('/7.2/status/socket', {}), /HTTP 401/);
    await assert.rejects(open('/7.2/status/socket', { Cookie: 'JSESSIONID=FORGED' }), /HTTP 401/);
  });

  it('numbers subscriptions from 0 per connection and answers bad commands with failure', async () => {
    const c = await cookie();
    for (let round = 0; round < 2; round++) {
      const { ws, frames } = await open('/7.2/notification/socket', { Cookie: c });
      ws.send('{"context":"*"}');
      ws.send('{"context":"host, router"}');
      ws.send('{"context":"host,router"}');
      ws.send('{"element":"x"}');
      ws.send('not json');
      ws.send('{"unsubscribe":7}');
      await until(() => frames.length === 6);
      assert.deepEqual(frames.slice(0, 2).map((f) => f.subscription_id), [0, 1]);
      assert.ok(frames.slice(2).every((f) => typeof f.failure === 'string'), JSON.stringify(frames));
      ws.close();
    }
  });

  it('sends the seed status right after an element subscription', async () => {
    const c = await cookie();
    const { ws, frames } = await open('/7.2/status/socket', { Cookie: c });
    ws.send(JSON.stringify({ element: sim.href('7.2', SEED_VPN_ENDPOINT) }));
    ws.send(JSON.stringify({ element: sim.href('7.2', SEED_ENGINE_NODE) }));
    await until(() => frames.length === 4);
    assert.deepEqual(frames[0], { success: 'Subscribed for status', subscription_id: 0 });
    const seed = JSON.parse(SEED_VPN_STATUS.replaceAll('http://localhost:8082/7.2.1', `${sim.url}/7.2`));
    assert.deepEqual(frames[1], seed);
    assert.deepEqual((frames[1]!.status as { status: unknown }).status, seedVpnStatus(`${sim.url}/7.2`));
    assert.deepEqual(frames[3], { status: { status: { monitoring_state: 'READY', monitoring_status: 'OK', name: 'Plano node 1' } }, subscription_id: 1 });
    ws.close();
  });

  it('closes the socket on a client message over its buffer, with Tomcat\'s reason', async () => {
    const c = await cookie();
    const { ws, closed } = await open('/7.2/status/socket', { Cookie: c });
    ws.send(JSON.stringify({ element: 'x'.repeat(2000) }));
    assert.deepEqual(await closed, [1009, TOO_BIG_REASON]);
  });

  it('expires sessions: REST answers 401 and the sockets close', async () => {
    const c = await cookie();
    const { closed } = await open('/7.2/notification/socket', { Cookie: c });
    sim.expireSessions();
    assert.equal((await closed)[0], 1008);
    const res = await fetch(`${sim.url}/7.2/logout`, { method: 'PUT', headers: { Cookie: c } });
    assert.equal(res.status, 401);
  });

  it('logs out with 204', async () => {
    const c = await cookie();
    const res = await fetch(`${sim.url}/7.2/logout`, { method: 'PUT', headers: { Cookie: c } });
    assert.equal(res.status, 204);
    assert.equal((await fetch(`${sim.url}/7.2/api`, { headers: { Cookie: c } })).status, 401);
  });
});
