import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MistMapping, channelKind, statsKind } from '../../../src/sources/mist/mapping.js';
import type { MetricPoint, Points } from '../../../src/model.js';
import { CLIENT_STATS_FRAME, MAP_ID, MAP_STATS_FRAMES, MXEDGE_STATS_FRAME, SEED_DEVICE_STATS_FRAME, SITE_ID } from '../../fixtures/mist.js';

// The seed document's own frame (test/fixtures/mist.ts) is the fixture.
function seedFrame(): { event: string; channel: string; data: string } {
  return JSON.parse(SEED_DEVICE_STATS_FRAME);
}

/** A fixture frame mapped by a fresh mapping (or the one given). */
function mapped(text: string, mapping = new MistMapping('m', [], {}, '0.0.0')) {
  const f = JSON.parse(text) as { channel: string; data: string };
  return mapping.stats(f.channel, JSON.parse(f.data) as Record<string, unknown>, 1);
}

function point(points: Points, name: string): Readonly<MetricPoint> {
  const p = points.toArray().find((x) => x.name === name);
  assert.ok(p, `point ${name}`);
  return p;
}

describe('Mist mapping', () => {
  it("maps the seed's device stats frame to points with the seed's values, units and sample time", () => {
    const frame = seedFrame();
    const payload = JSON.parse(frame.data) as Record<string, unknown>;
    const env = new MistMapping('m', [], {}, '0.0.0').stats(frame.channel, payload, 1);

    const uptime = point(env.metrics, 'mist.device.uptime');
    assert.equal(uptime.value, 6259614);
    assert.equal(uptime.unit, 's');
    assert.equal(uptime.kind, 'gauge');
    assert.equal(uptime.timeMs, 1686592607621.31);

    const rx = point(env.metrics, 'mist.device.ble.rx.bytes');
    assert.equal(rx.value, 2772782221);
    assert.equal(rx.unit, 'By');
    assert.equal(rx.kind, 'counter');
    assert.equal(rx.int, true);
    assert.equal(rx.startTimeMs, 1686592607621.31 - 6259614 * 1000);
    assert.equal(point(env.metrics, 'mist.device.ble.tx.packets').value, 9073);
    assert.equal(point(env.metrics, 'mist.device.ble.tx.bytes').value, 105431);
    assert.equal(point(env.metrics, 'mist.device.ble.rx.packets').value, 393432193);
    assert.equal(point(env.metrics, 'mist.device.ble.tx.resets').value, 0);
    assert.equal(point(env.metrics, 'mist.device.last_seen').value, 1686592607);
    assert.equal(env.metrics.length, 7, 'only fields present in the seed frame');

    assert.equal(env.resource['device.id'], '5c5b35fxxxxx');
    assert.equal(env.resource['mist.site.id'], 'c1947558-268d-4d31-xxxx-xxxxxxxxxxxx');
    assert.equal(env.resource['mist.device.version'], '0.9.22801');
  });

  it('lets a config block override, drop and add rules by path', () => {
    const frame = seedFrame();
    const payload = JSON.parse(frame.data) as Record<string, unknown>;
    const mapping = new MistMapping('m', [
      { path: 'uptime', metric: 'device.uptime', unit: 'min', scale: 1 / 60 },
      { path: 'last_seen', metric: 'x', drop: true },
      { path: '_partition', metric: 'mist.kafka.partition', type: 'gauge', unit: '1' },
    ], { team: 'noc' }, '0.0.0');
    const env = mapping.stats(frame.channel, payload, 1);
    assert.equal(point(env.metrics, 'device.uptime').value, 6259614 / 60);
    assert.equal(point(env.metrics, 'device.uptime').unit, 'min');
    assert.equal(env.metrics.toArray().find((p) => p.name === 'mist.device.last_seen'), undefined);
    assert.equal(point(env.metrics, 'mist.kafka.partition').value, 48);
    assert.equal(env.resource.team, 'noc');
  });

  it('fans a per-radio rule out with the radio as an attribute', () => {
    const env = new MistMapping('m', [], {}, '0').stats('/sites/s1/stats/devices', {
      mac: 'aa', _time: 10, radio_stat: { band_24: { num_clients: 3 }, band_5: { num_clients: 8 } },
    }, 1);
    const pts = env.metrics.toArray().filter((p) => p.name === 'mist.device.radio.clients');
    assert.deepEqual(pts.map((p) => [p.attributes.radio, p.value]).sort(), [['band_24', 3], ['band_5', 8]]);
  });

  it('turns device events into log records with severity by type, and arrival time when the event has none', () => {
    const mapping = new MistMapping('m', [], {}, '0');
    const envs = mapping.events('/sites/s1/devices', {
      events: [
        { type: 'AP_DISCONNECTED', mac: 'aa', device_name: 'ap-1', timestamp: 1686592600, text: 'AP lost its uplink' },
        { type: 'AP_CONFIGURED', mac: 'bb' },
      ],
    }, 5000);
    assert.equal(envs.length, 2);
    const [a, b] = envs.map((e) => e.logs[0]!);
    assert.equal(a!.severityText, 'WARN');
    assert.equal(a!.severityNumber, 13);
    assert.equal(a!.body, 'AP lost its uplink');
    assert.equal(a!.timeMs, 1686592600000);
    assert.equal(a!.eventName, 'mist.AP_DISCONNECTED');
    assert.equal(a!.attributes['mist.event.type'], 'AP_DISCONNECTED');
    assert.equal(envs[0]!.resource['device.name'], 'ap-1');
    assert.equal(b!.severityText, 'INFO');
    assert.equal(b!.timeMs, 5000);
    assert.equal(b!.body, 'AP_CONFIGURED');
  });

  it('tells stats channels from event channels', () => {
    assert.equal(channelKind('/sites/x/stats/devices'), 'stats');
    assert.equal(channelKind('/orgs/x/stats/mxedges'), 'stats');
    assert.equal(channelKind('/sites/x/devices'), 'events');
    assert.equal(channelKind('/orgs/x/insights/summary'), 'events');
  });

  it('maps a wireless client on /stats/clients by the client table: mist.client.* metrics, the client as resource, its AP on the points, never a device', () => {
    const env = mapped(CLIENT_STATS_FRAME);
    assert.equal(env.metrics.toArray().filter((p) => p.name.startsWith('mist.device.')).length, 0, 'no mist.device.* metric for a client');
    assert.equal(env.resource['device.id'], undefined, 'a client is never a device.id');
    assert.equal(env.resource['device.manufacturer'], undefined, 'a client is not Juniper hardware');
    assert.equal(env.resource['mist.client.mac'], 'a4c3f0112233');
    assert.equal(env.resource['mist.client.hostname'], 'laptop-jdoe');
    assert.equal(env.resource['mist.client.manufacturer'], 'Apple');
    assert.equal(env.resource['mist.site.id'], SITE_ID);
    const rssi = point(env.metrics, 'mist.client.rssi');
    assert.equal(rssi.value, -57);
    assert.equal(rssi.unit, 'dBm');
    assert.equal(rssi.kind, 'gauge');
    assert.equal(rssi.attributes['mist.ap.mac'], '5c5b35f15ed8', 'the AP it is on, as a point attribute');
    assert.equal(rssi.attributes['mist.wlan.ssid'], 'corp');
    assert.equal(point(env.metrics, 'mist.client.snr').unit, 'dB');
    const tx = point(env.metrics, 'mist.client.tx.bytes');
    assert.equal(tx.value, 190081234);
    assert.equal(tx.kind, 'counter');
    assert.equal(tx.unit, 'By');
    // Counted since the client connected: `uptime` seconds before the sample.
    assert.equal(tx.startTimeMs, 1686592607500 - 2101 * 1000);
    assert.equal(tx.timeMs, 1686592607500);
    assert.equal(point(env.metrics, 'mist.client.rx.bytes').value, 68381234);
    assert.equal(point(env.metrics, 'mist.client.tx.rate').unit, 'Mbit/s');
    assert.equal(point(env.metrics, 'mist.client.tx.throughput').unit, 'bit/s');
    assert.equal(point(env.metrics, 'mist.client.location.x').unit, '{pixel}');
    assert.equal(Object.values(env.resource).includes('jdoe'), false, 'the 802.1X username is not an attribute');
  });

  it('maps a Mist Edge on /stats/mxedges by its own table, per port, as Juniper hardware', () => {
    const env = mapped(MXEDGE_STATS_FRAME);
    assert.equal(env.metrics.toArray().filter((p) => p.name.startsWith('mist.device.')).length, 0);
    assert.equal(env.resource['device.id'], '020000a80cb4');
    assert.equal(env.resource['device.manufacturer'], 'Juniper Mist');
    assert.equal(env.resource['mist.mxedge.id'], '53f10664-3ce8-4c27-b382-0ef66432349f');
    assert.equal(env.resource['mist.org.id'], 'a97c1b22-a4e9-411e-9bfd-d8695a0f9e61');
    assert.equal(point(env.metrics, 'mist.mxedge.cpu.utilization').value, 46);
    assert.equal(point(env.metrics, 'mist.mxedge.memory.utilization').unit, '%');
    assert.equal(point(env.metrics, 'mist.mxedge.tunnels').value, 0);
    const rx = point(env.metrics, 'mist.mxedge.port.rx.bytes');
    assert.equal(rx.value, 646898375700);
    assert.equal(rx.attributes.port, 'port0');
    assert.equal(point(env.metrics, 'mist.mxedge.port.up').value, 1);
  });

  it('maps each map channel kind by its own table, with the map as a resource attribute', () => {
    const expect: Record<keyof typeof MAP_STATS_FRAMES, { id: [string, string]; metrics: [string, number, string][] }> = {
      map_clients: { id: ['mist.client.mac', 'a4c3f0112233'], metrics: [['mist.client.location.x', 60.5, '{pixel}'], ['mist.client.location.accuracy', 4, 'm']] },
      unconnected_clients: { id: ['mist.unconnected_client.mac', 'd0817a445566'], metrics: [['mist.unconnected_client.rssi', -78, 'dBm'], ['mist.unconnected_client.location.y', 241.26, '{pixel}']] },
      sdkclients: { id: ['mist.sdkclient.id', '53f10664-3ce8-4c27-b382-0ef66432349f'], metrics: [['mist.sdkclient.rssi', -62, 'dBm'], ['mist.sdkclient.location.x', 60, '{pixel}']] },
      assets: { id: ['mist.asset.mac', '6fa474be7ae5'], metrics: [['mist.asset.rssi', -60, 'dBm'], ['mist.asset.battery.voltage', 2.97, 'V'], ['mist.asset.temperature', 23, 'Cel']] },
      discovered_assets: { id: ['mist.discovered_asset.mac', 'c2b4a1000001'], metrics: [['mist.discovered_asset.rssi', -81, 'dBm'], ['mist.discovered_asset.location.x', 12.5, '{pixel}']] },
    };
    for (const [kind, frame] of Object.entries(MAP_STATS_FRAMES)) {
      const env = mapped(frame);
      const want = expect[kind as keyof typeof MAP_STATS_FRAMES];
      assert.equal(env.resource[want.id[0]], want.id[1], `${kind}: identity`);
      assert.equal(env.resource['mist.map.id'], MAP_ID, `${kind}: map`);
      assert.equal(env.resource['device.id'], undefined, `${kind}: never a device`);
      assert.equal(env.metrics.toArray().filter((p) => p.name.startsWith('mist.device.')).length, 0, `${kind}: no device metric`);
      for (const [name, value, unit] of want.metrics) {
        const p = point(env.metrics, name);
        assert.ok(Math.abs(p.value - value) < 1e-9, `${kind}: ${name} = ${p.value}`);
        assert.equal(p.unit, unit, `${kind}: ${name} unit`);
      }
    }
    assert.equal(point(mapped(MAP_STATS_FRAMES.unconnected_clients).metrics, 'mist.unconnected_client.rssi').attributes['mist.ap.mac'], '5c5b35f15ed8');
  });

  it('lets kind_metrics override, drop and add rules in one kind\'s table without touching the others', () => {
    const mapping = new MistMapping('m', [], {}, '0', undefined, {
      clients: [
        { path: 'rssi', metric: 'wifi.client.signal', unit: 'dBm' },
        { path: 'snr', metric: 'x', drop: true },
        { path: 'wlan_id', metric: 'never.numeric' },
        { path: 'dual_band', metric: 'mist.client.dual_band', unit: '1' },
      ],
    });
    const env = mapped(CLIENT_STATS_FRAME, mapping);
    assert.equal(point(env.metrics, 'wifi.client.signal').value, -57);
    assert.equal(env.metrics.toArray().find((p) => p.name === 'mist.client.rssi'), undefined);
    assert.equal(env.metrics.toArray().find((p) => p.name === 'mist.client.snr'), undefined);
    assert.equal(env.metrics.toArray().find((p) => p.name === 'never.numeric'), undefined);
    assert.equal(point(env.metrics, 'mist.client.dual_band').value, 1);
    // The devices table is untouched by the clients block.
    assert.equal(point(mapped(SEED_DEVICE_STATS_FRAME, mapping).metrics, 'mist.device.uptime').value, 6259614);
  });

  it('maps nothing from a /stats/ channel of no known kind rather than calling it a device', () => {
    const env = new MistMapping('m', [], {}, '0').stats('/sites/s1/stats/beacons', { mac: 'aa', uptime: 5, tx_bytes: 9 }, 1);
    assert.equal(env.metrics.length, 0);
    assert.equal(env.resource['device.id'], undefined);
  });

  it('tells each /stats/ kind apart by its channel', () => {
    assert.deepEqual(statsKind('/sites/s/stats/devices'), { kind: 'devices' });
    assert.deepEqual(statsKind('/sites/s/stats/clients'), { kind: 'clients' });
    assert.deepEqual(statsKind('/orgs/o/stats/mxedges'), { kind: 'mxedges' });
    assert.deepEqual(statsKind('/sites/s/stats/maps/m1/clients'), { kind: 'map_clients', map: 'm1' });
    assert.deepEqual(statsKind('/sites/s/stats/maps/m1/discovered_assets'), { kind: 'discovered_assets', map: 'm1' });
    assert.equal(statsKind('/sites/s/stats/maps/m1/other'), undefined);
    assert.equal(statsKind('/sites/s/devices'), undefined);
  });
});
