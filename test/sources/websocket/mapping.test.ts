import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exampleConfig, makeSource, rejected } from './harness.js';
import type { CaptureEmitter } from '../../helpers/capture.js';
import { buildConfig } from '../../../src/config/load.js';
import type { WebSocketConfig } from '../../../src/sources/websocket/config.js';
import { SEED_DEVICE_STATS_FRAME as SEED_FRAME } from '../../fixtures/mist.js';
import { FrameServer } from '../../helpers/frame_server.js';
import { waitFor } from '../../helpers/net.js';

// Frames fed straight into the source's frame path (no socket): decode → frame rules → payload →
// mapping rules → envelopes. The Mist fixture is the seed document's own example frame
// (test/fixtures/mist.ts), mapped by config/examples/websocket.yaml alone.

const ENV = { MIST_TOKEN: 'tok-abcdef', MIST_SITE_ID: 'c1947558-268d-4d31-xxxx-xxxxxxxxxxxx', MIST_WS_URL: 'ws://127.0.0.1:1/api-ws/v1/stream' };

function feed(cfg: WebSocketConfig, ...frames: (string | object)[]): CaptureEmitter {
  const { source, capture } = makeSource(cfg);
  for (const f of frames) source.sessions[0]!.receive(Buffer.from(typeof f === 'string' ? f : JSON.stringify(f)));
  return capture;
}

describe('websocket mapping: Mist by configuration', () => {
  it('maps the seed stats frame to points with the configured names, units, types, time and resource', () => {
    const points = feed(exampleConfig(ENV, 'map-seed'), SEED_FRAME).points();
    const by = (n: string) => points.find((p) => p.name === n);
    const t = 1686592607.62131 * 1000;

    const uptime = by('mist.device.uptime');
    assert.ok(uptime);
    assert.deepEqual([uptime.value, uptime.unit, uptime.kind, uptime.int], [6259614, 's', 'gauge', true]);
    assert.equal(uptime.timeMs, t);

    const expected: [string, number, string][] = [
      ['mist.device.ble.tx.packets', 9073, '{packet}'],
      ['mist.device.ble.tx.bytes', 105431, 'By'],
      ['mist.device.ble.rx.packets', 393432193, '{packet}'],
      ['mist.device.ble.rx.bytes', 2772782221, 'By'],
      ['mist.device.ble.tx.resets', 0, '{reset}'],
    ];
    for (const [name, value, unit] of expected) {
      const p = by(name);
      assert.ok(p, name);
      assert.deepEqual([p.value, p.unit, p.kind], [value, unit, 'counter'], name);
      // Counters started when the device booted: the sample time minus its uptime.
      assert.equal(p.startTimeMs, t - 6259614 * 1000, name);
    }
    // Only fields the seed has: no clients, cpu or memory points.
    assert.equal(points.length, 6);
    assert.deepEqual(uptime.resource, {
      'device.manufacturer': 'Juniper Mist',
      'device.id': '5c5b35fxxxxx',
      'mist.site.id': 'c1947558-268d-4d31-xxxx-xxxxxxxxxxxx',
    });
  });

  it('maps a device event frame to a log record with body, event name, severity, time and attributes', () => {
    const channel = `/sites/${ENV.MIST_SITE_ID}/devices`;
    const event = { type: 'AP_DISCONNECTED', mac: '5c5b35000001', device_name: 'ap-1', timestamp: 1686592700.5, text: 'AP ap-1 lost its uplink' };
    const cap = feed(exampleConfig(ENV, 'map-event'), { event: 'data', channel, data: JSON.stringify(event) });
    const [r, ...more] = cap.records();
    assert.equal(more.length, 0);
    assert.ok(r);
    assert.equal(r.body, 'AP ap-1 lost its uplink');
    assert.equal(r.eventName, 'mist.AP_DISCONNECTED');
    assert.deepEqual([r.severityText, r.severityNumber], ['WARN', 13]);
    assert.equal(r.timeMs, 1686592700.5 * 1000);
    assert.deepEqual(r.attributes, { 'mist.event.type': 'AP_DISCONNECTED', 'mist.channel': channel });
    assert.equal(r.resource['device.id'], '5c5b35000001');
    assert.equal(r.resource['device.name'], 'ap-1');
    assert.equal(cap.points().length, 0);
  });

  it('strips NUL padding from a JSON-string payload, as Mist sends it', () => {
    const frame = JSON.parse(SEED_FRAME) as { data: string };
    const cap = feed(exampleConfig(ENV, 'map-nul'), { ...frame, data: `${frame.data}\u0000\u0000` });
    assert.equal(cap.points().length, 6);
  });

  it('counts bad frames by reason and keeps mapping the good ones', async () => {
    const name = 'map-bad';
    const channel = `/sites/${ENV.MIST_SITE_ID}/stats/devices`;
    const cap = feed(
      exampleConfig(ENV, name),
      '{"event": "data", "channel": ',
      { event: 'data', channel, data: '{not json' },
      { event: 'data', channel, data: { mac: 'x' } },
      { event: 'data', channel },
      { event: 'subscribe_failed', channel: '/sites/nope', detail: 'invalid channel' },
      { event: 'data', channel, data: '{"mac":"m","version":"1"}' },
      '42',
      { event: 'channel_subscribed', channel },
      SEED_FRAME,
    );
    assert.equal(await rejected(name, 'malformed_json'), 1);
    assert.equal(await rejected(name, 'malformed_payload'), 1);
    assert.equal(await rejected(name, 'bad_payload'), 1);
    assert.equal(await rejected(name, 'no_payload'), 1);
    assert.equal(await rejected(name, 'unmatched'), 1);
    assert.equal(await rejected(name, 'unmapped'), 1);
    assert.equal(await rejected(name, 'not_an_object'), 1);
    assert.equal(cap.points().length, 6, 'the seed frame after the bad ones is still mapped');
  });

  it('marks the source established only when a frame matches frames.ready', async () => {
    const server = new FrameServer();
    await server.start();
    const { source, capture } = makeSource(exampleConfig({ ...ENV, MIST_WS_URL: server.url }, 'map-ready'));
    source.start();
    try {
      await waitFor('the socket', () => server.sockets.length > 0);
      await server.send(SEED_FRAME);
      await waitFor('the seed frame mapped', () => capture.points().length > 0);
      assert.equal(source.status().connected, false);
      await server.send({ event: 'channel_subscribed', channel: `/sites/${ENV.MIST_SITE_ID}/stats/devices` });
      await waitFor('established by the ready frame', () => source.status().connected);
    } finally {
      await source.stop();
      await server.stop();
    }
  });
});

describe('websocket mapping: generic features', () => {
  function cfg(name: string, extra: Record<string, unknown>): WebSocketConfig {
    const c = buildConfig({
      sources: [{ name, type: 'websocket', url: 'ws://127.0.0.1:1/', ...extra }],
      sinks: [{ name: 'out', type: 'file', path: '-' }],
    }, {}).sources[0]!.config;
    return c as WebSocketConfig;
  }

  it('maps every element of a list payload, reading ms times, numeric strings and * fan-out', () => {
    const c = cfg('gen-batch', {
      payload: { path: 'items' },
      frames: { metrics: { when: { path: 'kind', equals: 'stats' }, time: { path: 'ts', unit: 'ms' } } },
      resource_attributes: [{ path: 'host', attribute: 'host.name' }],
      metrics: [
        { path: 'cpu', metric: 'x.cpu.utilization', unit: '%' },
        { path: 'ifaces.*.rx', metric: 'x.if.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'interface' },
      ],
    });
    const cap = feed(c, { kind: 'stats', items: [{ host: 'a', ts: 1700000000123, cpu: '12.5', ifaces: { eth0: { rx: 10 }, eth1: { rx: 20 } } }, { host: 'b', ts: 1700000000456, cpu: 3 }] });
    assert.equal(cap.envelopes.length, 2);
    const a = cap.points().filter((p) => p.resource['host.name'] === 'a');
    assert.deepEqual(a.map((p) => [p.name, p.value, p.timeMs, p.attributes.interface]), [
      ['x.cpu.utilization', 12.5, 1700000000123, undefined],
      ['x.if.rx.bytes', 10, 1700000000123, 'eth0'],
      ['x.if.rx.bytes', 20, 1700000000123, 'eth1'],
    ]);
    assert.equal(cap.points().find((p) => p.resource['host.name'] === 'b')?.value, 3);
  });

  it('reads ISO 8601 times, severity words and numbers, and falls back to arrival time and the whole payload as body', () => {
    const c = cfg('gen-logs', {
      frames: { logs: { when: { path: 'type', equals: 'event' }, time: { path: 'at', unit: 'iso8601' }, severity_path: 'level', severity: 'WARN', body_path: 'msg' } },
    });
    const before = Date.now();
    const cap = feed(c,
      { type: 'event', at: '2024-05-01T10:00:00.250Z', level: 'error', msg: 'disk failed' },
      { type: 'event', at: '2024-05-01T10:00:01Z', level: 21, msg: 'fatal by number' },
      { type: 'event', level: 'weird', other: 1 },
    );
    const [a, b, d] = cap.records();
    assert.deepEqual([a!.timeMs, a!.severityText, a!.severityNumber, a!.body], [Date.parse('2024-05-01T10:00:00.250Z'), 'ERROR', 17, 'disk failed']);
    assert.deepEqual([b!.severityText, b!.severityNumber], ['FATAL', 21]);
    assert.ok(d!.timeMs >= before, 'no time field: arrival time');
    assert.equal(d!.severityText, 'WARN', 'an unknown word takes the configured default');
    assert.equal(d!.body, '{"type":"event","level":"weird","other":1}');
  });

  it('reads a time from the frame around the payload when the time rule says from: frame', () => {
    const rules = { metrics: [{ path: 'v', metric: 'x.v' }], payload: { path: 'payload' } };
    const frame = { ts: 1500000000000, payload: { v: 1 } };
    const fromFrame = feed(cfg('gen-time-frame', { ...rules, frames: { metrics: { time: { path: 'ts', unit: 'ms', from: 'frame' } } } }), frame);
    assert.equal(fromFrame.points()[0]!.timeMs, 1500000000000);
    const before = Date.now();
    const fromPayload = feed(cfg('gen-time-payload', { ...rules, frames: { metrics: { time: { path: 'ts', unit: 'ms' } } } }), frame);
    assert.ok(fromPayload.points()[0]!.timeMs >= before, 'the payload has no ts: arrival time');
  });

  it('ignores frames matching frames.ignore without counting them', async () => {
    const c = cfg('gen-ignore', {
      frames: { ignore: { when: { path: 'type', equals: 'pong' } }, metrics: { when: { path: 'type', equals: 'm' } } },
      metrics: [{ path: 'v', metric: 'x.v' }],
    });
    const cap = feed(c, { type: 'pong' }, { type: 'm', v: 1 }, { type: 'other' });
    assert.equal(cap.points().length, 1);
    assert.equal(await rejected('gen-ignore', 'unmatched'), 1);
  });
});
