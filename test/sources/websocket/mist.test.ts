import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/net.js';
import { sourceRig } from '../../helpers/capture.js';
import { MistSimulator } from '../../../src/simulators/mist.js';
import type { WebSocketSource } from '../../../src/sources/websocket/source.js';
import { authFailures, exampleConfig, makeSource, rejected } from './harness.js';

// The generic source, configured by config/examples/websocket.yaml only, against the Mist simulator.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'generic-mist-token-42';
const STATS = `/sites/${SITE}/stats/devices`;
const EVENTS = `/sites/${SITE}/devices`;

describe('websocket source against the Mist simulator', () => {
  const rig = sourceRig<MistSimulator, WebSocketSource>();

  async function start(simOpts: ConstructorParameters<typeof MistSimulator>[0], name: string, token = TOKEN) {
    const sim = await rig.serve(new MistSimulator(simOpts));
    const made = makeSource(exampleConfig({ MIST_TOKEN: token, MIST_SITE_ID: SITE, MIST_WS_URL: sim.url }, name));
    rig.run(made.source);
    return made.capture;
  }

  it('authenticates with the Authorization header, subscribes, and maps stats and events', async () => {
    const cap = await start({ token: TOKEN, devices: 2, intervalMs: 20, count: 10, eventsEveryMs: 30, record: 'payloads' }, 'mist-sub');
    await waitFor('subscribed', () => rig.source!.status().connected);
    assert.deepEqual(rig.sim!.clientMessages.slice(0, 2), [{ subscribe: STATS }, { subscribe: EVENTS }]);
    await rig.sim!.done;
    await waitFor('10 stats frames mapped', () => new Set(cap.points().map((p) => p.timeMs)).size >= 10);
    await waitFor('3 event records', () => cap.records().length >= 3);

    for (const { payload } of rig.sim!.sent) {
      const t = (payload._time as number) * 1000;
      const mine = cap.points().filter((p) => p.timeMs === t && p.resource['device.id'] === payload.mac);
      const ble = payload.ble_stat as Record<string, number>;
      assert.equal(mine.find((p) => p.name === 'mist.device.uptime')?.value, payload.uptime);
      assert.equal(mine.find((p) => p.name === 'mist.device.ble.rx.bytes')?.value, ble.rx_bytes);
      assert.equal(mine.find((p) => p.name === 'mist.device.memory.used')?.value, (payload.mem_used_kb as number) * 1024);
      const radios = payload.radio_stat as Record<string, Record<string, number>>;
      assert.equal(mine.find((p) => p.name === 'mist.device.radio.clients' && p.attributes.radio === 'band_5')?.value, radios.band_5!.num_clients);
      assert.equal(mine[0]!.resource['device.name'], payload.name);
      assert.equal(mine[0]!.resource['mist.site.id'], SITE);
    }
    for (const r of cap.records()) {
      const sent = rig.sim!.sentEvents.find((e) => e.payload.text === r.body);
      assert.ok(sent, `record ${r.body} was sent`);
      assert.equal(r.eventName, `mist.${sent.payload.type as string}`);
      assert.equal(r.resource['device.id'], sent.payload.mac);
    }
  });

  it('counts a refused upgrade as an auth failure and never subscribes', async () => {
    await start({ token: TOKEN, devices: 1, intervalMs: 50 }, 'mist-auth', 'wrong-token-000');
    await waitFor('two refused upgrades', () => rig.sim!.authFailures >= 2);
    assert.ok((await authFailures('mist-auth')) >= 2);
    assert.equal(rig.sim!.connections, 0);
    assert.equal(rig.source!.status().connected, false);
  });

  it('reconnects and re-subscribes every channel after the server closes with 1012', async () => {
    const cap = await start({ token: TOKEN, devices: 1, intervalMs: 20 }, 'mist-reconnect');
    await waitFor('first data', () => cap.points().length > 0);
    rig.sim!.closeAll(1012, 'service restart');
    await waitFor('second connection', () => rig.sim!.connections >= 2);
    const seen = cap.points().length;
    await waitFor('data after reconnect', () => cap.points().length > seen);
    await waitFor('re-subscribed', () => rig.source!.status().connected);
    const subs = rig.sim!.clientMessages.filter((m) => (m as { subscribe?: string }).subscribe === STATS);
    assert.equal(subs.length, 2, 'subscribed once per connection');
  });

  it('counts malformed, undecodable and unknown frames while the stream goes on', async () => {
    const name = 'mist-faults';
    const cap = await start({ token: TOKEN, devices: 1, intervalMs: 10, faults: { malformedEvery: 3, badDataEvery: 4, unknownEvery: 5, nulPadEvery: 2 } }, name);
    await waitFor('faults of each kind', async () =>
      (await rejected(name, 'malformed_json')) >= 2 && (await rejected(name, 'malformed_payload')) >= 2 && (await rejected(name, 'unmatched')) >= 2);
    const seen = new Set(cap.points().map((p) => p.timeMs)).size;
    await waitFor('stats keep coming', () => new Set(cap.points().map((p) => p.timeMs)).size >= seen + 5);
    assert.equal(rig.sim!.connections, 1, 'bad frames do not cost the connection');
  });
});
