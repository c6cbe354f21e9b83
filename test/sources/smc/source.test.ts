import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_ENGINE_NODE, SEED_VPN_ENDPOINT, SmcSimulator, type SmcSimulatorOptions } from '../../../src/simulators/smc.js';
import type { SmcSource } from '../../../src/sources/smc/source.js';
import { waitFor } from '../../helpers/net.js';
import { makeSource } from './helpers.js';
import { selfMetric, sourceRig } from '../../helpers/capture.js';

const KEY = 'smc-test-api-key-0123456789';

describe('SMC source against the simulator', () => {
  const rig = sourceRig<SmcSimulator, SmcSource>();

  const startSim = (opts: Partial<SmcSimulatorOptions> = {}): Promise<SmcSimulator> => rig.serve(new SmcSimulator({ apiKey: KEY, ...opts }));

  it('logs in once, opens both sockets with the cookie and no Origin, and subscribes every context and element', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*', 'host'], elements: [s.href('7.2', SEED_VPN_ENDPOINT), s.href('7.2', SEED_ENGINE_NODE)] });
    rig.run(made.source);
    await waitFor('both sockets established', () => rig.source!.status().connected);
    assert.equal(s.logins, 1, 'one login shared by both sockets');
    assert.deepEqual(s.upgrades.map((u) => u.status).sort(), [101, 101]);
    for (const u of s.upgrades) {
      assert.equal(u.headers.origin, undefined, 'no Origin header on the upgrade');
      assert.match(String(u.headers.cookie), /^JSESSIONID=[0-9A-F]+$/);
    }
    assert.ok(s.upgrades.some((u) => u.kind === 'notification') && s.upgrades.some((u) => u.kind === 'status'));
    // Version discovery: the newest of 6.5, 6.10, 7.1, 7.2.
    assert.deepEqual(s.channels('notification').map((c) => [c.id, c.what]), [[0, '*'], [1, 'host']]);
    assert.deepEqual(s.channels('status').map((c) => [c.id, c.what]), [[0, SEED_VPN_ENDPOINT], [1, SEED_ENGINE_NODE]]);
    assert.deepEqual([...rig.source!.socket('status')!.subscriptions()], [[0, { element: s.href('7.2', SEED_VPN_ENDPOINT) }], [1, { element: s.href('7.2', SEED_ENGINE_NODE) }]]);
    assert.equal(await selfMetric('subscriptions', { source: made.cfg.name, state: 'active' }), 4);

    // The status sent on subscribe, mapped per element with the subscribed href as resource.
    await waitFor('both statuses', () => made.out.envelopes.filter((e) => e.metrics.length).length >= 2);
    const vpn = made.out.points().find((p) => p.name === 'smc.element.packet_loss');
    assert.ok(vpn);
    assert.equal(vpn.value, 3.61);
    assert.equal(vpn.resource['smc.element.href'], s.href('7.2', SEED_VPN_ENDPOINT));
    assert.equal(vpn.resource['smc.element.name'], 'Corporate VPN');
    const node = made.out.points().find((p) => p.resource['smc.element.name'] === 'Plano node 1');
    assert.equal(node?.resource['smc.element.href'], s.href('7.2', SEED_ENGINE_NODE));

    // A host change arrives on both channels, a router change only on '*'.
    s.change('create', 'elements/host/1732');
    s.change('create', 'elements/router/1733');
    await waitFor('three records', () => made.out.records().length >= 3);
    assert.deepEqual(made.out.records().map((r) => [r.eventName, r.attributes['smc.subscription.context'], r.attributes['smc.element.type']]).sort(), [
      ['smc.element.create', '*', 'host'], ['smc.element.create', '*', 'router'], ['smc.element.create', 'host', 'host'],
    ]);
  });

  it('counts a refused login, opens no socket, and keeps retrying with backoff', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: 'wrong-key-1234', contexts: ['*'], elements: [s.href('7.2', SEED_ENGINE_NODE)] });
    rig.run(made.source);
    await waitFor('two refused logins', () => s.loginFailures >= 2);
    // The client counts a refusal when the reply reaches it, a moment after the server did.
    await waitFor('login failures counted', async () => (await selfMetric('authFailures', { source: made.cfg.name })) >= 2);
    assert.equal(s.upgrades.length, 0, 'no socket without a session');
    assert.equal(rig.source!.status().connected, false);
    assert.match(rig.source!.status().detail, /login refused with HTTP 401/);
  });

  it('refuses a domain the SMC does not have, as a failed login', async () => {
    const s = await startSim({ domains: ['Shared Domain', 'Branch'] });
    const made = makeSource({ url: s.url, api_key: KEY, domain: 'Nowhere', contexts: ['*'] });
    rig.run(made.source);
    await waitFor('a refused login', () => s.loginFailures >= 1);
    assert.equal(s.logins, 0);
    await rig.source!.stop();
    const ok = makeSource({ url: s.url, api_key: KEY, domain: 'Branch', contexts: ['*'] });
    rig.run(ok.source);
    await waitFor('established in domain Branch', () => rig.source!.status().connected);
  });

  it('after session expiry logs in again, reconnects both sockets and re-subscribes everything', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*', 'host, router'], elements: [s.href('7.2', SEED_VPN_ENDPOINT)] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected && s.channels('notification').length === 2);
    s.expireSessions();
    await waitFor('second login and both sockets back', () => s.logins === 2 && s.connections.notification === 2 && s.connections.status === 2 && rig.source!.status().connected);
    assert.equal(s.logins, 2, 'one new login for both sockets');
    assert.deepEqual(s.channels('notification').map((c) => [c.connection, c.id, c.what]), [[2, 0, '*'], [2, 1, 'host, router']]);
    assert.deepEqual(s.channels('status').map((c) => [c.connection, c.id]), [[2, 0]]);
    assert.equal(s.activeSessions, 1);
    // The new channels deliver.
    const before = made.out.records().length;
    s.change('update', 'elements/router/1733');
    await waitFor('records on both new channels', () => made.out.records().length >= before + 2);
  });

  it('after the server drops the sockets re-subscribes with a fresh session and logs the old one out', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*'], elements: [s.href('7.2', SEED_ENGINE_NODE)] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    s.closeAll(1001, 'Server shutting down');
    await waitFor('both sockets back', () => s.connections.notification === 2 && s.connections.status === 2 && rig.source!.status().connected);
    await waitFor('the replaced session logged out', () => s.logouts === 1 && s.activeSessions === 1);
    assert.deepEqual(s.channels('notification').map((c) => c.id), [0]);
    assert.deepEqual(s.channels('status').map((c) => c.id), [0]);
  });

  it('logs and counts refused commands while the others stay subscribed with the right ids', async () => {
    const s = await startSim();
    const made = makeSource({
      url: s.url, api_key: KEY,
      contexts: ['host,router', '*'], // the RelName list needs ", ": the first is refused
      elements: [s.href('7.2', 'elements/host/99999'), s.href('7.2', SEED_ENGINE_NODE)],
    });
    rig.run(made.source);
    await waitFor('two refusals answered', async () => (await selfMetric('subscriptions', { source: made.cfg.name, state: 'failed' })) >= 2);
    await waitFor('established', () => rig.source!.status().connected);
    assert.equal(await selfMetric('subscriptions', { source: made.cfg.name, state: 'active' }), 2);
    // Failed commands take no id: the survivors are 0 on each socket.
    assert.deepEqual([...rig.source!.socket('notification')!.subscriptions()], [[0, { context: '*' }]]);
    await waitFor('node status', () => made.out.points().some((p) => p.resource['smc.element.name'] === 'Plano node 1'));
    const p = made.out.points().find((x) => x.resource['smc.element.name'] === 'Plano node 1')!;
    assert.equal(p.resource['smc.element.href'], s.href('7.2', SEED_ENGINE_NODE));
  });

  it('counts malformed, unknown, bad and oversized frames while the stream continues', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*'], elements: [s.href('7.2', SEED_ENGINE_NODE)], max_frame_bytes: 64 * 1024 });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    // Both sockets' sessions count under the source's name.
    const src = made.cfg.name;
    s.inject('status', '{"status": {"status": ');
    s.inject('status', JSON.stringify({ heartbeat: 1, subscription_id: 0 }));
    s.inject('status', JSON.stringify({ status: 'READY', subscription_id: 0 }));
    s.inject('status', JSON.stringify({ status: { status: { name: 'only a name' } }, subscription_id: 0 }));
    s.inject('notification', JSON.stringify({ event: { type: 'create' }, subscription_id: 0 }));
    s.inject('notification', JSON.stringify({ event: { type: 'create', element: 'http://h/7.2/elements/host/1' } }));
    s.inject('notification', '[1,2]');
    await waitFor('rejections counted', async () => (await selfMetric('framesRejected', { source: src })) >= 7);
    // One malformed frame on each socket; the rest as sent.
    assert.equal(await selfMetric('framesRejected', { source: src, reason: 'malformed_json' }), 2);
    assert.equal(await selfMetric('framesRejected', { source: src, reason: 'unknown_type' }), 1);
    assert.equal(await selfMetric('framesRejected', { source: src, reason: 'bad_status' }), 1);
    assert.equal(await selfMetric('framesRejected', { source: src, reason: 'unmapped' }), 1);
    assert.equal(await selfMetric('framesRejected', { source: src, reason: 'bad_event' }), 2);
    // The stream goes on.
    s.change('create', 'elements/host/1732');
    await waitFor('an event after the bad frames', () => made.out.records().length >= 1);

    // Oversized: counted, the status socket is reset, re-subscribed, and delivers again.
    s.inject('status', JSON.stringify({ status: { status: { name: 'x'.repeat(100_000) } }, subscription_id: 0 }));
    await waitFor('oversized counted', async () => (await selfMetric('framesRejected', { source: src, reason: 'oversized' })) === 1);
    await waitFor('status socket back', () => s.connections.status === 2 && rig.source!.status().connected);
    const statuses = () => made.out.envelopes.filter((e) => e.resource['smc.element.name'] === 'Plano node 1').length;
    await waitFor('status after the reset', () => statuses() >= 2);
  });

  it('unsubscribes every subscription, closes both sockets and logs out on stop', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*', 'host'], elements: [s.href('7.2', SEED_VPN_ENDPOINT), s.href('7.2', SEED_ENGINE_NODE)] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected && rig.source!.socket('notification')!.subscriptions().size === 2);
    await rig.source!.stop();
    rig.source = undefined;
    const sentBy = (kind: string) => s.clientMessages.filter((m) => m.kind === kind).map((m) => m.text);
    assert.deepEqual(sentBy('notification'), ['{"context":"*"}', '{"context":"host"}', '{"unsubscribe":0}', '{"unsubscribe":1}']);
    assert.deepEqual(sentBy('status').slice(2), ['{"unsubscribe":0}', '{"unsubscribe":1}']);
    assert.equal(s.logouts, 1);
    assert.equal(s.activeSessions, 0);
    await waitFor('sockets closed', () => s.open('notification') + s.open('status') === 0);
  });

  it('uses the configured API version, and reads the 6.5 list form of events', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, api_version: '6.5', contexts: ['host'] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    assert.equal(s.upgrades[0]!.path, '/6.5/notification/socket');
    s.change('delete', 'elements/host/1732');
    await waitFor('a record', () => made.out.records().length === 1);
    const sent = s.sent.find((f) => f.kind === 'notification')!;
    assert.ok(Array.isArray(sent.frame.events), 'the simulator spoke the 6.5 list form');
    const r = made.out.records()[0]!;
    assert.equal(r.eventName, 'smc.element.delete');
    assert.equal(r.severityText, 'WARN');
    assert.equal(r.attributes['smc.element.href'], `${s.url}/6.5/elements/host/1732`);
  });

  it('picks the newest listed version by number (6.10 over 6.5)', async () => {
    const s = await startSim({ versions: ['6.5', '6.10', '6.4'] });
    const made = makeSource({ url: s.url, api_key: KEY, contexts: ['*'] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    assert.equal(s.upgrades[0]!.path, '/6.10/notification/socket');
    s.change('update', 'elements/host/1732');
    await waitFor('a record', () => made.out.records().length === 1);
    assert.equal(made.out.records()[0]!.attributes['smc.element.href'], `${s.url}/6.10/elements/host/1732`);
  });

  it('keeps a silent but answering socket, and reconnects when pongs stop', async () => {
    const s = await startSim();
    let pings = 0;
    const made = makeSource({ url: s.url, api_key: KEY, elements: [s.href('7.2', SEED_ENGINE_NODE)], contexts: [], keepalive: { interval: '100ms', timeout: '150ms' } });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    s.onPing = () => pings++;
    await waitFor('five pings answered on a silent socket', () => pings >= 5);
    assert.equal(s.connections.status, 1, 'silence with pongs is not death');
    s.autoPong = false;
    await waitFor('a reconnect after the pongs stop', () => s.connections.status >= 2);
  });

  it('subscribes each status context on the status socket and maps every element of the family by the href its status names', async () => {
    const s = await startSim({ nodes: 1, virtualEngines: 2 });
    const made = makeSource({ url: s.url, api_key: KEY, contexts: [], elements: [s.href('7.2', SEED_VPN_ENDPOINT)], status_contexts: ['virtual_fw', 'fw_single'], status_repeat_interval: '50ms' });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    assert.deepEqual(s.clientMessages.filter((m) => m.kind === 'status').map((m) => m.text), [
      JSON.stringify({ element: s.href('7.2', SEED_VPN_ENDPOINT) }), '{"context":"virtual_fw"}', '{"context":"fw_single"}',
    ]);
    assert.deepEqual(s.channels('status').map((c) => [c.id, c.what]), [[0, SEED_VPN_ENDPOINT], [1, 'virtual_fw'], [2, 'fw_single']]);
    assert.equal(await selfMetric('subscriptions', { source: made.cfg.name, state: 'active' }), 3);

    const family = ['elements/virtual_fw/2000', 'elements/virtual_fw/2001', SEED_ENGINE_NODE, 'elements/single_fw/1700/firewall_node/1800'];
    const health = (path: string) => made.out.points().filter((p) => p.name === 'smc.element.health' && p.resource['smc.element.href'] === s.href('7.2', path));
    // Each element of each family is its own resource, and each is repeated on its own (status_repeat_interval).
    await waitFor('every family member repeated', () => family.filter((p) => p !== SEED_ENGINE_NODE).every((p) => health(p).length >= 2));
    const v = health('elements/virtual_fw/2001')[0]!;
    assert.equal(v.resource['smc.element.name'], 'virtual engine 2001');
    assert.equal(v.resource['smc.element.type'], 'virtual_fw');
    assert.equal(v.resource['smc.status.context'], 'virtual_fw');
    const node = made.out.points().find((p) => p.resource['smc.element.href'] === s.href('7.2', 'elements/single_fw/1700/firewall_node/1800'))!;
    assert.equal(node.resource['smc.status.context'], 'fw_single');
    assert.equal(node.resource['smc.element.type'], 'single_fw');
    // An element subscription's resource is unchanged: no family attribute.
    const vpn = made.out.points().find((p) => p.name === 'smc.element.packet_loss')!;
    assert.equal(vpn.resource['smc.status.context'], undefined);
    // State gauges are per element: one monitoring.status=OK point per element and status, never merged.
    const ok = made.out.envelopes.filter((e) => e.resource['smc.status.context'] === 'virtual_fw').slice(0, 2);
    assert.deepEqual(ok.map((e) => e.metrics.toArray().filter((p) => p.name === 'smc.element.monitoring.status' && p.value === 1).length), [1, 1]);
    assert.notEqual(ok[0]!.resource['smc.element.href'], ok[1]!.resource['smc.element.href']);
  });

  it('maps a family status that names its element only by name, and rejects one that names no element', async () => {
    const s = await startSim({ virtualEngines: 1, contextIdentity: 'name' });
    const made = makeSource({ url: s.url, api_key: KEY, contexts: [], status_contexts: ['virtual_fw'] });
    rig.run(made.source);
    await waitFor('the family status', () => made.out.points().some((p) => p.name === 'smc.element.health'));
    const p = made.out.points().find((x) => x.name === 'smc.element.health')!;
    assert.equal(p.resource['smc.element.name'], 'virtual engine 2000');
    assert.equal(p.resource['smc.status.context'], 'virtual_fw');
    assert.equal(p.resource['smc.element.href'], undefined, 'no href to report');
    s.inject('status', JSON.stringify({ status: { status: { health_in_percent: 50 } }, subscription_id: 0 }));
    await waitFor('the nameless status rejected', async () => (await selfMetric('framesRejected', { source: made.cfg.name, reason: 'no_element' })) === 1);
    assert.equal(made.out.points().filter((x) => x.name === 'smc.element.health' && x.value === 50).length, 0);
  });

  it('counts a status context the SMC refuses while the others stay subscribed', async () => {
    const s = await startSim({ virtualEngines: 1 });
    const made = makeSource({ url: s.url, api_key: KEY, contexts: [], status_contexts: ['no_such_family', 'virtual_fw'] });
    rig.run(made.source);
    await waitFor('established', () => rig.source!.status().connected);
    await waitFor('the refusal counted', async () => (await selfMetric('subscriptions', { source: made.cfg.name, state: 'failed' })) === 1);
    assert.deepEqual([...rig.source!.socket('status')!.subscriptions()], [[0, { context: 'virtual_fw' }]]);
    await waitFor('the family status', () => made.out.points().some((p) => p.resource['smc.status.context'] === 'virtual_fw'));
  });

  it('re-emits the last status of a quiet element, stamped anew, until the socket closes', async () => {
    const s = await startSim();
    const made = makeSource({ url: s.url, api_key: KEY, contexts: [], elements: [s.href('7.2', SEED_VPN_ENDPOINT)], status_repeat_interval: '50ms' });
    rig.run(made.source);
    const loss = () => made.out.points().filter((p) => p.name === 'smc.element.packet_loss');
    await waitFor('three packet loss points from one status frame', () => loss().length >= 3);
    assert.equal(s.sent.length, 1, 'the SMC sent one status');
    assert.ok(loss().every((p) => p.value === 3.61));
    assert.equal(new Set(loss().map((p) => p.timeMs)).size, loss().length, 'each repeat has its own time');
    assert.ok(loss().every((p) => p.resource['smc.element.href'] === s.href('7.2', SEED_VPN_ENDPOINT)));
    // Socket down (no pongs, no re-login possible): the repeats stop.
    s.autoPong = false;
    await s.stop();
    await waitFor('status socket down', () => !rig.source!.status().connected);
    const n = loss().length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(loss().length, n, 'no repeats without a live subscription');
  });
});
