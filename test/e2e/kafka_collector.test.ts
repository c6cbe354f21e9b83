import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Collector } from '../helpers/collector.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { KafkaBroker, TopicReader, createTopics } from '../helpers/kafka.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// Mist simulator → ws2otel (child process) → a real Kafka 4.3.1 broker → the real OpenTelemetry
// Collector's kafka receiver (otlp_proto) → its file exporter; and the `json` topic read by a plain
// consumer; and a broker restart mid-stream that must lose nothing.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'e2e-kafka-token-5678';
const FRAMES = 30;
const POINTS_PER_FRAME = 35;

let broker: KafkaBroker;

function daemonFor(sim: MistSimulator, sink: Record<string, unknown>): DaemonProcess {
  return new DaemonProcess({
    log_level: 'info',
    sources: [{
      name: 'mist-e2e', type: 'mist', url: sim.url, token: '${MIST_TOKEN}',
      channels: [`/sites/${SITE}/stats/devices`, `/sites/${SITE}/devices`],
      resource: { 'deployment.environment.name': 'e2e' },
    }],
    sinks: [{ name: 'kafka', type: 'kafka', brokers: [broker.bootstrap], batch: { max_events: 10, timeout: '100ms' }, ...sink }],
  }, { MIST_TOKEN: TOKEN });
}

describe('Mist → ws2otel → Kafka', () => {
  before(async () => {
    broker = new KafkaBroker();
    await broker.start();
  });
  after(async () => {
    await broker?.destroy();
  });

  describe('→ Collector kafka receiver (otlp_proto)', () => {
    const topics = { metrics: 'netops.e2e.metrics', logs: 'netops.e2e.logs' };
    let collector: Collector;
    const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 30, count: FRAMES, eventsEveryMs: 100, record: 'payloads' });
    let daemon: DaemonProcess;

    before(async () => {
      await createTopics(broker.bootstrap, [{ topic: topics.metrics }, { topic: topics.logs }]);
      collector = new Collector({ kafka: { brokers: [broker.bootstrap], metricsTopic: topics.metrics, logsTopic: topics.logs, encoding: 'otlp_proto' }, otlp: false });
      await collector.start();
      await sim.start();
      daemon = daemonFor(sim, { topics: { metrics: 'netops.%{deployment.environment.name}.metrics', logs: 'netops.%{deployment.environment.name}.logs' }, compression: 'lz4' });
      await daemon.start();
    });
    after(async () => {
      await daemon?.stop();
      await sim.stop();
      await collector?.stop();
    });

    it('the Collector reads every point with its name, value, unit, type, time and resource', async () => {
      await sim.done;
      const expected = FRAMES * POINTS_PER_FRAME;
      // The Mist data; the source's own up gauge (scope ws2otel/source) travels the same topic.
      const mistPoints = () => collector.points().filter((p) => p.scope === 'ws2otel/mist');
      await waitFor('all points at the Collector', () => mistPoints().length >= expected, 40_000, 200);
      const points = mistPoints();
      assert.equal(points.length, expected);
      for (const { payload } of sim.sent) {
        const mac = payload.mac as string;
        const t = BigInt(Math.round((payload._time as number) * 1e6)) * 1000n;
        const mine = points.filter((p) => p.resource['device.id'] === mac && p.timeUnixNano / 1000n === t / 1000n);
        assert.equal(mine.length, POINTS_PER_FRAME, `all points of ${mac} at ${t}`);
        const byName = (name: string, attrs: Record<string, unknown> = {}) =>
          mine.find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
        const uptime = byName('mist.device.uptime')!;
        assert.equal(uptime.value, payload.uptime);
        assert.equal(uptime.unit, 's');
        assert.equal(uptime.type, 'gauge');
        const rx = byName('mist.device.ble.rx.bytes')!;
        assert.equal(rx.value, (payload.ble_stat as Record<string, number>).rx_bytes);
        assert.equal(rx.unit, 'By');
        assert.equal(rx.type, 'sum');
        assert.equal(rx.monotonic, true);
        const startMs = (payload._time as number) * 1000 - (payload.uptime as number) * 1000;
        assert.ok(Math.abs(Number(rx.startTimeUnixNano / 1_000_000n) - startMs) <= 1);
        assert.equal(byName('mist.device.memory.used')?.value, (payload.mem_used_kb as number) * 1024);
        const radios = payload.radio_stat as Record<string, Record<string, number>>;
        assert.equal(byName('mist.device.radio.clients', { radio: 'band_5' })?.value, radios.band_5!.num_clients);
        assert.equal(uptime.resource['device.name'], payload.name);
        assert.equal(uptime.resource['mist.site.id'], SITE);
        assert.equal(uptime.resource['deployment.environment.name'], 'e2e');
      }
    });

    it('the Collector reads the device events as log records', async () => {
      await waitFor('events at the Collector', () => collector.records().length >= 5, 20_000);
      for (const r of collector.records().slice(0, 5)) {
        const sent = sim.sentEvents.find((e) => e.payload.text === r.body);
        assert.ok(sent, `record ${String(r.body)} was sent by the simulator`);
        assert.equal(r.resource['device.id'], sent.payload.mac);
        assert.equal(r.attributes['mist.event.type'], sent.payload.type);
        assert.equal(r.eventName, `mist.${sent.payload.type as string}`);
        assert.equal(r.timeUnixNano / 1_000_000n, BigInt(Math.round((sent.payload.timestamp as number) * 1000)));
      }
    });

    it('exits 0 on SIGTERM and never logs the token', async () => {
      assert.equal(await daemon.stop('SIGTERM'), 0);
      assert.ok(!daemon.stdout.includes(TOKEN) && !daemon.stderr.includes(TOKEN));
    });
  });

  describe('→ json topic → plain consumer', () => {
    const topics = { metrics: 'flat.metrics', logs: 'flat.logs' };
    const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 30, count: 9, eventsEveryMs: 100, record: 'payloads' });
    let daemon: DaemonProcess;
    let reader: TopicReader;

    before(async () => {
      reader = new TopicReader(broker.bootstrap, [topics.metrics, topics.logs]);
      await reader.start();
      await sim.start();
      daemon = daemonFor(sim, { topics, encoding: 'json', compression: 'zstd' });
      await daemon.start();
    });
    after(async () => {
      await daemon?.stop();
      await sim.stop();
      await reader?.stop();
    });

    it('one flat object per point and per event, keyed by device.id, resource and attributes inlined', async () => {
      await sim.done;
      // The Mist data; the source's own up gauge (scope ws2otel/source) travels the same topic.
      const mistDocs = () => reader.messages.filter((m) => m.topic === topics.metrics).map((m) => ({ key: m.key, doc: JSON.parse(m.value.toString()) }))
        .filter((p) => p.doc.scope === 'ws2otel/mist');
      await waitFor('every point', () => mistDocs().length >= 9 * POINTS_PER_FRAME, 30_000);
      const points = mistDocs();
      assert.equal(points.length, 9 * POINTS_PER_FRAME);
      for (const { payload } of sim.sent) {
        const mac = payload.mac as string;
        const timeMs = Math.floor((payload._time as number) * 1000);
        const mine = points.filter((p) => p.doc['device.id'] === mac && p.doc.timestamp === timeMs);
        assert.equal(mine.length, POINTS_PER_FRAME);
        assert.ok(mine.every((p) => p.key === mac), 'keyed by device.id');
        const uptime = mine.find((p) => p.doc.name === 'mist.device.uptime')!.doc;
        assert.equal(uptime.signal, 'metric');
        assert.equal(uptime.value, payload.uptime);
        assert.equal(uptime.unit, 's');
        assert.equal(uptime.type, 'gauge');
        assert.equal(uptime['mist.site.id'], SITE);
        assert.equal(uptime['device.name'], payload.name);
        assert.equal(uptime['deployment.environment.name'], 'e2e');
        assert.equal(BigInt(uptime.time_unix_nano) / 1000n, BigInt(Math.round((payload._time as number) * 1e6)));
        const band5 = mine.find((p) => p.doc.name === 'mist.device.radio.clients' && p.doc.radio === 'band_5')!.doc;
        assert.equal(band5.value, (payload.radio_stat as Record<string, Record<string, number>>).band_5!.num_clients);
        const rx = mine.find((p) => p.doc.name === 'mist.device.ble.rx.bytes')!.doc;
        assert.equal(rx.type, 'counter');
        assert.equal(rx.start_timestamp, Math.floor((payload._time as number) * 1000 - (payload.uptime as number) * 1000));
      }
      await waitFor('events', () => reader.messages.some((m) => m.topic === topics.logs));
      const ev = JSON.parse(reader.messages.find((m) => m.topic === topics.logs)!.value.toString());
      const sent = sim.sentEvents.find((e) => e.payload.text === ev.body)!;
      assert.ok(sent);
      assert.equal(ev.signal, 'log');
      assert.equal(ev['device.id'], sent.payload.mac);
      assert.equal(ev['mist.event.type'], sent.payload.type);
      assert.equal(ev.event_name, `mist.${sent.payload.type as string}`);
      assert.equal(ev.timestamp, Math.floor((sent.payload.timestamp as number) * 1000));
    });
  });

  describe('broker restart mid-stream', () => {
    const topics = { metrics: 'restart.metrics', logs: 'restart.logs' };
    // 30 s of stream: a broker that is slow to stop (seconds under load) must still leave frames to
    // send while it is down, or the test would time out instead of testing the outage.
    const FRAMES_R = 600;
    const sim = new MistSimulator({ token: TOKEN, devices: 5, intervalMs: 50, count: FRAMES_R, record: 'payloads' });
    let daemon: DaemonProcess;
    let reader: TopicReader;

    before(async () => {
      await createTopics(broker.bootstrap, [{ topic: topics.metrics }, { topic: topics.logs }]);
      await sim.start();
      daemon = daemonFor(sim, {
        topics, encoding: 'json', timeout: '3s', client_retries: 1,
        retry: { initial_interval: '200ms', max_interval: '1s', max_elapsed_time: 0 },
        buffer: { max_events: 5000, when_full: 'block' },
      });
      await daemon.start();
    });
    after(async () => {
      await daemon?.stop();
      await sim.stop();
      await reader?.stop();
    });

    it('loses no frame across a broker restart (duplicates are counted, not failed)', async () => {
      await waitFor('a third of the stream', () => sim.statsFramesSent >= FRAMES_R / 3, 30_000);
      await broker.stop();
      const sentWhileDown = sim.statsFramesSent;
      await waitFor('frames sent while the broker is down', () => sim.statsFramesSent >= sentWhileDown + 20, 30_000);
      await broker.start();
      await sim.done;
      reader = new TopicReader(broker.bootstrap, [topics.metrics]);
      await reader.start();
      const key = (d: Record<string, unknown>) => `${d['device.id'] as string}/${d.value as number}`;
      const seen = () => {
        const uptimes = reader.messages.map((m) => JSON.parse(m.value.toString())).filter((d) => d.name === 'mist.device.uptime');
        return { total: uptimes.length, distinct: new Set(uptimes.map(key)) };
      };
      await waitFor('every frame consumed', () => seen().distinct.size >= FRAMES_R, 60_000, 200);
      const { total, distinct } = seen();
      const sent = new Set(sim.sent.map(({ payload }) => `${payload.mac as string}/${payload.uptime as number}`));
      assert.equal(sent.size, FRAMES_R);
      for (const s of sent) assert.ok(distinct.has(s), `frame ${s} reached Kafka`);
      const retries = await daemon.metric('ws2otel_sink_retries_total');
      assert.ok(retries > 0, 'the outage was seen as retryable failures');
      console.log(`# restart: ${FRAMES_R} frames sent, ${distinct.size} distinct consumed, ${total - distinct.size} duplicates, ${retries} retries`);
    });
  });
});
