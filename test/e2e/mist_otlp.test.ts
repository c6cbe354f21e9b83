import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpSink, pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// Mist simulator → ws2otel (child process) → the real OpenTelemetry Collector → its file exporter.
// Every value the simulator sent must come out of the Collector with its name, unit, type and time.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'e2e-secret-token-1234';
const FRAMES = 30;

for (const encoding of ['proto', 'json'] as const) {
  describe(`Mist → OTLP/HTTP (${encoding}) → Collector`, () => {
    const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 30, count: FRAMES, eventsEveryMs: 100, record: 'payloads' });
    const e2e = pipeline({
      sims: [sim],
      config: (collector) => ({
        log_level: 'debug',
        sources: [{
          name: 'mist-e2e', type: 'mist', url: sim.url, token: '${MIST_TOKEN}',
          channels: [`/sites/${SITE}/stats/devices`, `/sites/${SITE}/devices`],
          resource: { 'deployment.environment.name': 'e2e' },
        }],
        sinks: [otlpSink(collector, { encoding, max_events: 10 })],
      }),
      env: { MIST_TOKEN: TOKEN },
    });
    const { collector } = e2e;

    it('delivers every device stat as a point with its unit, type, value and sample time', async () => {
      await sim.done;
      // Per simulated AP frame: 10 device, 5 BLE, 7 per radio × 2 radios, 6 for port eth0 = 35 points.
      const expectedPoints = FRAMES * 35;
      await waitFor('all points at the Collector', () => collector.points().filter((p) => p.scope === 'ws2otel/mist').length >= expectedPoints, 30_000);
      // The Mist data; the source's own up gauge (scope ws2otel/source) is a signal of its own.
      const points = collector.points().filter((p) => p.scope === 'ws2otel/mist');
      assert.equal(points.length, expectedPoints);
      assert.ok(collector.points().some((p) => p.name === 'ws2otel.source.up' && p.scope === 'ws2otel/source' && p.value === 1), 'the source says it is up');

      for (const { payload } of sim.sent) {
        const mac = payload.mac as string;
        const t = BigInt(Math.round((payload._time as number) * 1e6)) * 1000n;
        const mine = points.filter((p) => p.resource['device.id'] === mac && p.timeUnixNano / 1000n === t / 1000n);
        const byName = (name: string, attrs: Record<string, unknown> = {}) =>
          mine.find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

        const uptime = byName('mist.device.uptime');
        assert.ok(uptime, `uptime point for ${mac} at ${t}`);
        assert.equal(uptime.value, payload.uptime);
        assert.equal(uptime.unit, 's');
        assert.equal(uptime.type, 'gauge');

        const ble = payload.ble_stat as Record<string, number>;
        const rx = byName('mist.device.ble.rx.bytes');
        assert.ok(rx);
        assert.equal(rx.value, ble.rx_bytes);
        assert.equal(rx.unit, 'By');
        assert.equal(rx.type, 'sum');
        assert.equal(rx.monotonic, true);
        assert.equal(rx.temporality, 2); // cumulative
        // Device counters started at boot: start = sample time − uptime.
        const startMs = (payload._time as number) * 1000 - (payload.uptime as number) * 1000;
        assert.ok(Math.abs(Number(rx.startTimeUnixNano / 1_000_000n) - startMs) <= 1);

        assert.equal(byName('mist.device.ble.tx.packets')?.unit, '{packet}');
        assert.equal(byName('mist.device.memory.used')?.value, (payload.mem_used_kb as number) * 1024);
        const radios = payload.radio_stat as Record<string, Record<string, number>>;
        assert.equal(byName('mist.device.radio.clients', { radio: 'band_5' })?.value, radios.band_5!.num_clients);
        assert.equal(byName('mist.device.port.up', { port: 'eth0' })?.value, 1);

        assert.equal(uptime.resource['device.name'], payload.name);
        assert.equal(uptime.resource['device.model.identifier'], 'AP43');
        assert.equal(uptime.resource['mist.site.id'], SITE);
        assert.equal(uptime.resource['deployment.environment.name'], 'e2e');
      }
    });

    it('delivers device events as log records with severity and attributes', async () => {
      await waitFor('events at the Collector', () => collector.records().length >= 5, 20_000);
      const records = collector.records();
      for (const r of records.slice(0, 5)) {
        const sent = sim.sentEvents.find((e) => e.payload.text === r.body);
        assert.ok(sent, `record ${String(r.body)} was sent by the simulator`);
        assert.equal(r.attributes['mist.event.type'], sent.payload.type);
        assert.equal(r.resource['device.id'], sent.payload.mac);
        assert.equal(r.eventName, `mist.${sent.payload.type as string}`);
        assert.equal(r.timeUnixNano / 1_000_000n, BigInt(Math.round((sent.payload.timestamp as number) * 1000)));
        const warn = /DISCONNECTED|FAILED/.test(sent.payload.type as string);
        assert.equal(r.severityText, warn ? 'WARN' : 'INFO');
        assert.equal(r.severityNumber, warn ? 13 : 9);
      }
    });

    it('exits 0 on SIGTERM and never logs the token', async () => {
      assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
      assert.ok(!e2e.daemon.stdout.includes(TOKEN) && !e2e.daemon.stderr.includes(TOKEN), 'token leaked into a log line');
    });
  });
}

describe('Mist wireless clients → OTLP/HTTP → Collector', () => {
  const CLIENT_FRAMES = 12;
  const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 30, count: CLIENT_FRAMES, record: 'payloads' });
  const e2e = pipeline({
    sims: [sim],
    config: (collector) => ({
      sources: [{ name: 'mist-clients-e2e', type: 'mist', url: sim.url, token: '${MIST_TOKEN}', channels: [`/sites/${SITE}/stats/clients`] }],
      sinks: [otlpSink(collector, { max_events: 10 })],
    }),
    env: { MIST_TOKEN: TOKEN },
  });
  const { collector } = e2e;

  it('delivers a client on /stats/clients as mist.client.* points on the client\'s own resource, its AP as an attribute, never a device', async () => {
    await sim.done;
    await waitFor('every client sample at the Collector', () => new Set(collector.points().filter((p) => p.name === 'mist.client.rssi').map((p) => p.timeUnixNano)).size >= CLIENT_FRAMES, 30_000);
    const points = collector.points().filter((p) => p.scope === 'ws2otel/mist');
    assert.deepEqual(points.filter((p) => p.name.startsWith('mist.device.') || p.resource['device.id'] !== undefined), [], 'no device series from clients');
    for (const { payload } of sim.sent) {
      const t = BigInt(Math.round((payload._time as number) * 1e6)) * 1000n;
      const mine = points.filter((p) => p.resource['mist.client.mac'] === payload.mac && p.timeUnixNano / 1000n === t / 1000n);
      const rssi = mine.find((p) => p.name === 'mist.client.rssi');
      assert.ok(rssi, `rssi point for ${payload.mac as string} at ${t}`);
      assert.equal(rssi.value, payload.rssi);
      assert.equal(rssi.unit, 'dBm');
      assert.equal(rssi.attributes['mist.ap.mac'], payload.ap_mac);
      assert.equal(rssi.resource['mist.client.hostname'], payload.hostname);
      const tx = mine.find((p) => p.name === 'mist.client.tx.bytes');
      assert.ok(tx);
      assert.equal(tx.value, payload.tx_bytes);
      assert.equal(tx.type, 'sum');
      assert.equal(tx.unit, 'By');
    }
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
  });
});
