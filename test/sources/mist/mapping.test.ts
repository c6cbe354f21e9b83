import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MistMapping, channelKind } from '../../../src/sources/mist/mapping.js';
import type { MetricPoint } from '../../../src/model.js';
import { SEED_DEVICE_STATS_FRAME } from '../../fixtures/mist.js';

// The seed document's own frame (test/fixtures/mist.ts) is the fixture.
function seedFrame(): { event: string; channel: string; data: string } {
  return JSON.parse(SEED_DEVICE_STATS_FRAME);
}

function point(points: MetricPoint[], name: string): MetricPoint {
  const p = points.find((x) => x.name === name);
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
    assert.equal(env.metrics.find((p) => p.name === 'mist.device.last_seen'), undefined);
    assert.equal(point(env.metrics, 'mist.kafka.partition').value, 48);
    assert.equal(env.resource.team, 'noc');
  });

  it('fans a per-radio rule out with the radio as an attribute', () => {
    const env = new MistMapping('m', [], {}, '0').stats('/sites/s1/stats/devices', {
      mac: 'aa', _time: 10, radio_stat: { band_24: { num_clients: 3 }, band_5: { num_clients: 8 } },
    }, 1);
    const pts = env.metrics.filter((p) => p.name === 'mist.device.radio.clients');
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
});
