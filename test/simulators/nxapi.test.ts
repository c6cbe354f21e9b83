import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { NxapiSimulator } from '../../src/simulators/nxapi.js';
import { waitFor } from '../helpers/net.js';

// The simulator must be exactly as strict as the switch, or the source tests prove nothing.

const USER = 'admin';
const PASS = 'sim-pass-123';

function errorShape(body: unknown): { code: string; text: string } {
  const e = (body as { imdata: [{ error: { attributes: { code: string; text: string } } }] }).imdata[0].error.attributes;
  assert.equal(typeof e.code, 'string');
  assert.equal(typeof e.text, 'string');
  return e;
}

describe('nxapi simulator: as strict as the switch', () => {
  // APIC: its aaaRefresh is the GET below (the NX-OS platform's POST is proven in the next block).
  const sim = new NxapiSimulator({ platform: 'apic', username: USER, password: PASS, intervalMs: 50, subscriptionTimeoutMs: 400, tokenLifetimeMs: 1000 });
  const api = (path: string, init: RequestInit = {}) => fetch(`${sim.url}${path}`, init);
  const login = async (name = USER, pwd = PASS) => {
    const res = await api('/api/aaaLogin.json', { method: 'POST', body: JSON.stringify({ aaaUser: { attributes: { name, pwd } } }) });
    return { res, body: (await res.json()) as any };
  };
  const cookie = (token: string) => ({ headers: { Cookie: `APIC-cookie=${token}` } });

  before(() => sim.start());
  after(() => sim.stop());

  it('refuses a wrong or missing credential with 401 and the error shape, a body that is not JSON with 400', async () => {
    const wrong = await login(USER, 'nope');
    assert.equal(wrong.res.status, 401);
    assert.equal(errorShape(wrong.body).code, '401');
    const missing = await api('/api/aaaLogin.json', { method: 'POST', body: JSON.stringify({ aaaUser: { attributes: { name: USER } } }) });
    assert.equal(missing.status, 401);
    assert.equal(errorShape(await missing.json()).code, '401');
    const garbage = await api('/api/aaaLogin.json', { method: 'POST', body: '{' });
    assert.equal(garbage.status, 400);
    assert.equal(errorShape(await garbage.json()).code, '400');
  });

  it('answers a login with a token, refreshTimeoutSeconds and the APIC-cookie', async () => {
    const { res, body } = await login();
    assert.equal(res.status, 200);
    const a = body.imdata[0].aaaLogin.attributes;
    assert.equal(a.refreshTimeoutSeconds, '1');
    assert.equal(res.headers.get('set-cookie'), `APIC-cookie=${a.token}; path=/; HttpOnly`);
  });

  it('refuses REST without a live cookie (403) and the socket without a live token', async () => {
    const none = await api('/api/class/rmonIfIn.json');
    assert.equal(none.status, 403);
    assert.equal(errorShape(await none.json()).code, '403');
    const bad = await api('/api/class/rmonIfIn.json', cookie('made-up'));
    assert.equal(bad.status, 403);
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/socketmade-up`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0)));
    assert.equal(status, 403);
  });

  it('answers an unknown class and an unknown method with 400 and the error shape', async () => {
    const token = (await login()).body.imdata[0].aaaLogin.attributes.token;
    const cls = await api('/api/class/noSuchClass.json?subscription=yes', cookie(token));
    assert.equal(cls.status, 400);
    const b = await cls.json();
    assert.match(errorShape(b).text, /unresolved class/);
    assert.equal((b as { subscriptionId?: string }).subscriptionId, undefined);
    // The seed's misspelling is not an API method.
    assert.equal((await api('/api/subscriptonRefresh.json?id=1', cookie(token))).status, 400);
  });

  it('notifies with a list of subscription ids and string values only, and expires an unrefreshed subscription', async () => {
    const token = (await login()).body.imdata[0].aaaLogin.attributes.token as string;
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/socket${token}`);
    const frames: any[] = [];
    ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    const sub = (await (await api('/api/class/rmonIfIn.json?subscription=yes', cookie(token))).json()) as any;
    assert.match(sub.subscriptionId, /^\d+$/);
    assert.equal(sub.totalCount, String(sub.imdata.length));
    for (const o of sub.imdata) for (const v of Object.values(o.rmonIfIn.attributes)) assert.equal(typeof v, 'string');
    await waitFor('a notification', () => frames.length > 0);
    assert.ok(Array.isArray(frames[0].subscriptionId));
    assert.deepEqual(frames[0].subscriptionId, [sub.subscriptionId]);
    for (const v of Object.values(frames[0].imdata[0].rmonIfIn.attributes)) assert.equal(typeof v, 'string');
    assert.equal(frames[0].imdata[0].rmonIfIn.attributes.status, 'modified');

    const ok = await api(`/api/subscriptionRefresh.json?id=${sub.subscriptionId}`, cookie(token));
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { imdata: unknown[] }).imdata, []);
    const expired = sim.stats.expiredSubscriptions;
    await waitFor('the subscription to expire', () => sim.stats.expiredSubscriptions > expired);
    const late = await api(`/api/subscriptionRefresh.json?id=${sub.subscriptionId}`, cookie(token));
    assert.equal(late.status, 400);
    assert.equal(errorShape(await late.json()).code, '400');
    ws.close();
  });

  it('retires the old token on aaaRefresh, and ends the session (403, socket closed) when the token is not refreshed', async () => {
    const old = (await login()).body.imdata[0].aaaLogin.attributes.token as string;
    const refreshed = await api('/api/aaaRefresh.json', cookie(old));
    const token = ((await refreshed.json()) as any).imdata[0].aaaLogin.attributes.token as string;
    assert.notEqual(token, old);
    assert.equal((await api('/api/class/l1PhysIf.json', cookie(old))).status, 403);
    assert.equal((await api('/api/class/l1PhysIf.json', cookie(token))).status, 200);

    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/socket${token}`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise((r) => ws.once('close', r));
    const expired = sim.stats.expiredTokens;
    await closed; // nobody refreshes: the session ends, its socket with it
    assert.ok(sim.stats.expiredTokens > expired);
    const after = await api('/api/class/l1PhysIf.json', cookie(token));
    assert.equal(after.status, 403);
    assert.match(errorShape(await after.json()).text, /Token was invalid/);
  });
});

describe('nxapi simulator: the field behaviours of switches and APIC clusters', () => {
  const sims: NxapiSimulator[] = [];
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
  });
  async function start(opts: Partial<ConstructorParameters<typeof NxapiSimulator>[0]> = {}) {
    const sim = new NxapiSimulator({ username: USER, password: PASS, intervalMs: 50, ...opts });
    sims.push(sim);
    await sim.start();
    const api = (path: string, init: RequestInit = {}) => fetch(`${sim.url}${path}`, init);
    const res = await api('/api/aaaLogin.json', { method: 'POST', body: JSON.stringify({ aaaUser: { attributes: { name: USER, pwd: PASS } } }) });
    const token = ((await res.json()) as any).imdata[0].aaaLogin.attributes.token as string;
    const withCookie = (init: RequestInit = {}) => ({ ...init, headers: { Cookie: `APIC-cookie=${token}` } });
    return { sim, token, get: (path: string, init: RequestInit = {}) => api(path, withCookie(init)) };
  }

  it('takes aaaRefresh as a POST on nxos and a GET on apic, and refuses the other method with 405', async () => {
    const nxos = await start();
    assert.equal((await nxos.get('/api/aaaRefresh.json')).status, 405);
    assert.equal(nxos.sim.stats.wrongMethodRefreshes, 1);
    const post = await nxos.get('/api/aaaRefresh.json', { method: 'POST' });
    assert.equal(post.status, 200);
    assert.ok(((await post.json()) as any).imdata[0].aaaLogin.attributes.token);

    const apic = await start({ platform: 'apic' });
    const refused = await apic.get('/api/aaaRefresh.json', { method: 'POST' });
    assert.equal(refused.status, 405);
    assert.match(errorShape(await refused.json()).text, /requires GET/);
    assert.equal((await apic.get('/api/aaaRefresh.json')).status, 200);
  });

  it('gives a subscription the deadline of its refresh-timeout (scaled), its default without one, and refuses one above the maximum', async () => {
    // 1 protocol second = 100 ms: refresh-timeout=3 lives 300 ms, the default 900 ms.
    const { sim, get } = await start({ secondMs: 100, subscriptionTimeoutMs: 900, maxRefreshTimeoutS: 60 });
    const short = (await (await get('/api/class/rmonIfIn.json?subscription=yes&refresh-timeout=3')).json()) as any;
    const plain = (await (await get('/api/class/rmonIfOut.json?subscription=yes')).json()) as any;
    await waitFor('the short subscription to expire', () => sim.stats.expiredSubscriptions >= 1);
    assert.equal((await get(`/api/subscriptionRefresh.json?id=${short.subscriptionId}`)).status, 400, 'lapsed after its refresh-timeout');
    assert.equal((await get(`/api/subscriptionRefresh.json?id=${plain.subscriptionId}`)).status, 200, 'the default deadline is longer');
    const over = await get('/api/class/rmonIfIn.json?subscription=yes&refresh-timeout=61');
    assert.equal(over.status, 400);
    assert.match(errorShape(await over.json()).text, /refresh-timeout/);
  });

  it('refuses a query larger than maxResults as "result dataset is too big" and serves it in pages', async () => {
    const { sim, get } = await start({ maxResults: 3, interfaces: 5 });
    const whole = await get('/api/class/rmonIfIn.json?subscription=yes');
    assert.equal(whole.status, 400);
    assert.match(errorShape(await whole.json()).text, /result dataset is too big/);
    assert.equal((await get('/api/class/rmonIfIn.json?subscription=yes&page=0&page-size=4')).status, 400, 'a page above the limit');
    const dns: string[] = [];
    for (let page = 0; page < 3; page++) {
      const body = (await (await get(`/api/class/rmonIfIn.json?subscription=yes&page=${page}&page-size=2`)).json()) as any;
      assert.equal(body.totalCount, '5');
      assert.match(body.subscriptionId, /^\d+$/);
      for (const o of body.imdata) dns.push(o.rmonIfIn.attributes.dn);
    }
    assert.deepEqual(dns, [1, 2, 3, 4, 5].map((i) => `sys/intf/phys-[eth1/${i}]/dbgIfIn`));
    assert.equal(sim.stats.tooBig, 2);
  });

  it('returns the whole current snapshot again on a re-subscribe', async () => {
    const { sim, get } = await start({ intervalMs: 0 });
    const first = (await (await get('/api/mo/sys.json?subscription=yes')).json()) as any;
    sim.setAttributes('sys', { name: 'renamed' });
    const again = (await (await get('/api/mo/sys.json?subscription=yes')).json()) as any;
    assert.notEqual(again.subscriptionId, first.subscriptionId);
    assert.equal(again.imdata.length, 1);
    assert.equal(again.imdata[0].topSystem.attributes.name, 'renamed');
  });
});
