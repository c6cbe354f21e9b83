import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector } from '../helpers/collector.js';
import { pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// Mist simulator → ws2otel (child process) → splunk_hec sink → the real OpenTelemetry Collector's
// splunk_hec receiver (a HEC server: event endpoint, `"event":"metric"` metric events) → its file
// exporter. HEC metadata comes back as resource attributes (host.name, com.splunk.*), fields as
// attributes, metric events as gauges named after their `metric_name:` field.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const HEC_TOKEN = '5f1e3a7c-hec-token-e2e-9d41';
const FRAMES = 20;

/** Epoch ms of a Collector timestamp, rounded: HEC carries seconds with millisecond precision. */
function ms(ns: bigint): number {
  return Math.round(Number(ns) / 1e6);
}

describe('Mist → Splunk HEC → Collector splunk_hec receiver', () => {
  const collector = new Collector({ otlp: false, splunkHec: true });
  const sim = new MistSimulator({ token: 'mist-e2e-token', devices: 3, intervalMs: 30, count: FRAMES, eventsEveryMs: 100, record: 'payloads' });
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'ws2otel-hec-')), 'hec-token');
  writeFileSync(tokenFile, `${HEC_TOKEN}\n`); // as `echo` and Kubernetes secrets write it
  const e2e = pipeline({
    collector,
    sims: [sim],
    config: () => ({
      log_level: 'debug',
      sources: [{
        name: 'mist-hec', type: 'mist', url: sim.url, token: 'mist-e2e-token',
        channels: [`/sites/${SITE}/stats/devices`, `/sites/${SITE}/devices`],
        resource: { 'deployment.environment.name': 'e2e' },
      }],
      sinks: [{
        name: 'splunk', type: 'splunk_hec', endpoint: collector.hecEndpoint, token_file: tokenFile,
        index: 'netops', metrics_index: 'netops_metrics', source: 'ws2otel', sourcetype: 'ws2otel:mist',
        // Small requests, so that a batch goes as several requests (the split path runs too).
        max_request_bytes: 16384,
        batch: { max_events: 10, timeout: '100ms' },
      }, {
        // The same data with indexer acknowledgement asked for: the receiver (without the Collector's
        // ack extension) checks the channel header and answers without an ackId, as a Splunk token
        // with acknowledgement off does.
        name: 'splunk-ack', type: 'splunk_hec', endpoint: collector.hecEndpoint, token_file: tokenFile,
        index: 'acked', metrics_index: 'acked_metrics', ack: true, batch: { max_events: 10, timeout: '100ms' },
      }],
    }),
  });

  it('delivers every device stat as a HEC metric event: name, value, dimensions, sample time, metrics index', async () => {
    await sim.done;
    // Per simulated AP frame: 10 device, 5 BLE, 7 per radio × 2 radios, 6 for port eth0 = 35 points.
    const expected = FRAMES * 35;
    // The Mist data; the source's own up gauge goes to the same index.
    const metricsOf = (index: string) => collector.points().filter((p) => p.resource['com.splunk.index'] === index && p.name !== 'ws2otel.source.up');
    await waitFor('all metric events at the Collector', () => metricsOf('netops_metrics').length >= expected, 30_000);
    const points = metricsOf('netops_metrics');
    assert.equal(points.length, expected, 'each point arrives exactly once');

    for (const { payload } of sim.sent) {
      const mac = payload.mac as string;
      const t = Math.round((payload._time as number) * 1000);
      const mine = points.filter((p) => p.attributes['device.id'] === mac && ms(p.timeUnixNano) === t);
      assert.equal(mine.length, 35, `35 points for ${mac} at ${t}`);
      const byName = (name: string, attrs: Record<string, unknown> = {}) =>
        mine.find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

      const uptime = byName('mist.device.uptime');
      assert.ok(uptime, `uptime for ${mac}`);
      assert.equal(uptime.value, payload.uptime);
      assert.equal(uptime.type, 'gauge');
      assert.equal(uptime.attributes['metric_type'], 'Gauge');
      // HEC metadata: host from the resource's device.name, the configured metrics index, source, sourcetype.
      assert.deepEqual(uptime.resource, {
        'host.name': payload.name,
        'com.splunk.index': 'netops_metrics',
        'com.splunk.source': 'ws2otel',
        'com.splunk.sourcetype': 'ws2otel:mist',
      });
      // Dimensions: the resource's attributes (strings, as HEC dimensions are) and the point's own.
      assert.equal(uptime.attributes['device.name'], payload.name);
      assert.equal(uptime.attributes['device.model.identifier'], 'AP43');
      assert.equal(uptime.attributes['mist.site.id'], SITE);
      assert.equal(uptime.attributes['deployment.environment.name'], 'e2e');
      assert.equal(uptime.attributes['host.name'], undefined, 'host.name is HEC host, not repeated as a dimension');

      const rx = byName('mist.device.ble.rx.bytes');
      assert.ok(rx);
      assert.equal(rx.value, (payload.ble_stat as Record<string, number>).rx_bytes);
      assert.equal(rx.attributes['metric_type'], 'Sum');
      assert.equal(byName('mist.device.memory.used')?.value, (payload.mem_used_kb as number) * 1024);
      const radios = payload.radio_stat as Record<string, Record<string, number>>;
      assert.equal(byName('mist.device.radio.clients', { radio: 'band_5' })?.value, radios.band_5!.num_clients);
      assert.equal(byName('mist.device.radio.clients', { radio: 'band_24' })?.value, radios.band_24!.num_clients);
      assert.equal(byName('mist.device.port.up', { port: 'eth0' })?.value, 1);
    }
  });

  it('delivers every device event as a HEC event: body, time, severity, attributes, logs index', async () => {
    // Events come every few stats frames: on a fast machine the first test can end before three were sent.
    await waitFor('three events sent', () => sim.sentEvents.length >= 3, 30_000);
    await sim.stop(); // no more events: what was sent is final
    const sent = sim.sentEvents;
    assert.ok(sent.length >= 3, `the simulator sent events (${sent.length})`);
    const recordsOf = (index: string) => collector.records().filter((r) => r.resource['com.splunk.index'] === index);
    await waitFor('all events at the Collector', () => recordsOf('netops').length >= sent.length, 30_000);
    const records = recordsOf('netops');
    assert.equal(records.length, sent.length, 'each event arrives exactly once');
    for (const e of sent) {
      const r = records.find((x) => x.body === e.payload.text);
      assert.ok(r, `record for ${String(e.payload.text)}`);
      assert.equal(ms(r.timeUnixNano), Math.round((e.payload.timestamp as number) * 1000));
      const warn = /DISCONNECTED|FAILED/.test(e.payload.type as string);
      assert.equal(r.attributes['otel.log.severity.text'], warn ? 'WARN' : 'INFO');
      assert.equal(r.attributes['otel.log.severity.number'], warn ? 13 : 9);
      assert.equal(r.attributes['event.name'], `mist.${e.payload.type as string}`);
      assert.equal(r.attributes['mist.event.type'], e.payload.type);
      assert.equal(r.attributes['device.id'], e.payload.mac);
      assert.equal(r.attributes['deployment.environment.name'], 'e2e');
      assert.equal(r.resource['com.splunk.index'], 'netops');
      assert.equal(r.resource['com.splunk.sourcetype'], 'ws2otel:mist');
    }
  });

  it('with ack: true sends a channel HEC accepts, and counts HTTP 200 without an ackId as delivered', async () => {
    const expected = FRAMES * 35;
    // The Mist data; the source's own up gauge goes to the same index.
    const acked = () => collector.points().filter((p) => p.resource['com.splunk.index'] === 'acked_metrics' && p.name !== 'ws2otel.source.up');
    await waitFor('the acked sink\'s metric events', () => acked().length >= expected, 30_000);
    await waitFor('the acked sink\'s events', () => collector.records().filter((r) => r.resource['com.splunk.index'] === 'acked').length >= sim.sentEvents.length, 30_000);
    assert.equal(acked().length, expected);
    assert.equal(collector.records().filter((r) => r.resource['com.splunk.index'] === 'acked').length, sim.sentEvents.length);
    const warnings = e2e.daemon.stdout.split('\n').filter((l) => l.includes('answered without an ackId'));
    assert.equal(warnings.length, 1, 'said once, not per batch');
    assert.equal(await e2e.daemon.metric('ws2otel_sink_send_failures_total', { sink: 'splunk-ack' }), 0);
  });

  it('counts every batch sent, exits 0 on SIGTERM and never logs the HEC token', async () => {
    const { daemon } = e2e;
    assert.ok(await daemon.metric('ws2otel_sink_events_sent_total', { sink: 'splunk' }) >= FRAMES);
    assert.equal(await daemon.metric('ws2otel_sink_send_failures_total', { sink: 'splunk' }), 0);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.ok(!daemon.stdout.includes(HEC_TOKEN) && !daemon.stderr.includes(HEC_TOKEN), 'token leaked into a log line');
  });
});
