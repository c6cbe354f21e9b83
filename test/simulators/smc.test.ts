import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SEED_ENGINE_NODE, SEED_VPN_ENDPOINT, SmcSimulator, TOO_BIG_REASON, seedVpnStatus, type SmcSimulatorOptions } from '../../src/simulators/smc.js';
import { SEED_VPN_STATUS } from '../fixtures/smc.js';

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

describe('SMC simulator field behaviours', () => {
  const sims: SmcSimulator[] = [];
  after(async () => {
    for (const s of sims) await s.stop();
  });

  async function sim(opts: Partial<SmcSimulatorOptions>): Promise<SmcSimulator> {
    const s = new SmcSimulator({ apiKey: KEY, ...opts });
    sims.push(s);
    await s.start();
    return s;
  }

  function login(s: SmcSimulator, version = '7.2'): Promise<Response> {
    return fetch(`${s.url}/${version}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ authenticationkey: KEY }) });
  }

  /** Opens a socket; resolves with it and the subprotocol the server selected, rejects with the refusal's status. */
  function open(s: SmcSimulator, path: string, protocols: string[], headers: Record<string, string> = {}): Promise<{ ws: WebSocket; protocol: string; frames: Record<string, unknown>[] }> {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}${path}`, protocols, { headers });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, protocol: ws.protocol, frames }));
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(check());
  }

  it('in SSL-session mode answers the login with an Authorization token and no cookie, and refuses REST calls without that token', async () => {
    const s = await sim({ sessionMode: 'ssl' });
    const res = await login(s);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null);
    const token = res.headers.get('authorization');
    assert.ok(token && /^[A-Za-z0-9_-]{20,}$/.test(token), 'a token a subprotocol can carry');
    assert.equal((await fetch(`${s.url}/7.2/api`)).status, 401);
    assert.equal((await fetch(`${s.url}/7.2/api`, { headers: { Authorization: 'forged-token' } })).status, 401);
    assert.equal((await fetch(`${s.url}/7.2/api`, { headers: { Authorization: token } })).status, 200);
    assert.equal((await fetch(`${s.url}/7.2/logout`, { method: 'PUT' })).status, 401);
    assert.equal((await fetch(`${s.url}/7.2/logout`, { method: 'PUT', headers: { Authorization: token } })).status, 204);
  });

  it('in SSL-session mode accepts an upgrade only with the access_token subprotocol pair, and selects access_token', async () => {
    const s = await sim({ sessionMode: 'ssl' });
    const token = (await login(s)).headers.get('authorization')!;
    await assert.rejects(open(s, '/7.2/status/socket', []), /HTTP 401/);
    await assert.rejects(open(s, '/7.2/status/socket', ['access_token']), /HTTP 401/);
    await assert.rejects(open(s, '/7.2/status/socket', ['access_token', 'forged-token']), /HTTP 401/);
    await assert.rejects(open(s, '/7.2/status/socket', [], { Authorization: token }), /HTTP 401/);
    const { ws, protocol } = await open(s, '/7.2/status/socket', ['access_token', token]);
    assert.equal(protocol, 'access_token');
    ws.close();
  });

  it('lists the versions it was given at GET /api and answers 404 under any other version, REST and sockets alike', async () => {
    const s = await sim({ versions: ['6.10', '7.1'] });
    const body = (await (await fetch(`${s.url}/api`)).json()) as { version: { rel: string }[] };
    assert.deepEqual(body.version.map((v) => v.rel), ['6.10', '7.1']);
    assert.equal((await login(s, '7.2')).status, 404);
    const ok = await login(s, '7.1');
    assert.equal(ok.status, 200);
    const cookie = /JSESSIONID=[^;]+/.exec(ok.headers.get('set-cookie') ?? '')![0];
    await assert.rejects(open(s, '/7.2/notification/socket', [], { Cookie: cookie }), /HTTP 404/);
    (await open(s, '/7.1/notification/socket', [], { Cookie: cookie })).ws.close();
  });

  it('answers logins 429 while rate limited, with Retry-After when told', async () => {
    const s = await sim({ rateLimit: { logins: 1, retryAfterS: 45 } });
    const first = await login(s);
    assert.equal(first.status, 429);
    assert.equal(first.headers.get('retry-after'), '45');
    assert.equal((await login(s)).status, 200);
    assert.equal(s.rateLimited, 1);
  });

  it('answers {"context": type} on the status socket with a status for every element of that family, each naming its element', async () => {
    const s = await sim({ nodes: 2, virtualEngines: 3 });
    const cookie = /JSESSIONID=[^;]+/.exec((await login(s)).headers.get('set-cookie') ?? '')![0];
    const { ws, frames } = await open(s, '/7.2/status/socket', [], { Cookie: cookie });
    ws.send('{"context":"virtual_fw"}');
    ws.send('{"context":"fw_single"}');
    ws.send('{"context":"no_such_type"}');
    await until(() => frames.length === 1 + 3 + 1 + 3 + 1);
    assert.deepEqual(frames[0], { success: 'Subscribed for status', subscription_id: 0 });
    const statuses = (id: number) => frames.filter((f) => f.subscription_id === id && f.status).map((f) => (f.status as { status: Record<string, unknown> }).status);
    assert.deepEqual(statuses(0).map((x) => [x.href, x.name]), [0, 1, 2].map((i) => [s.href('7.2', `elements/virtual_fw/${2000 + i}`), `virtual engine ${2000 + i}`]));
    // fw_single: the seed's engine node and the two generated ones (all single firewalls).
    assert.deepEqual(statuses(1).map((x) => x.href), [SEED_ENGINE_NODE, 'elements/single_fw/1700/firewall_node/1800', 'elements/single_fw/1701/firewall_node/1801'].map((p) => s.href('7.2', p)));
    assert.equal(typeof frames.at(-1)!.failure, 'string');
    ws.close();
  });

  it('can leave the href out of a family subscription\'s statuses (contextIdentity: name)', async () => {
    const s = await sim({ virtualEngines: 1, contextIdentity: 'name' });
    const cookie = /JSESSIONID=[^;]+/.exec((await login(s)).headers.get('set-cookie') ?? '')![0];
    const { ws, frames } = await open(s, '/7.2/status/socket', [], { Cookie: cookie });
    ws.send('{"context":"virtual_fw"}');
    await until(() => frames.length === 2);
    const st = (frames[1]!.status as { status: Record<string, unknown> }).status;
    assert.equal(st.href, undefined);
    assert.equal(st.name, 'virtual engine 2000');
    ws.close();
  });
});
