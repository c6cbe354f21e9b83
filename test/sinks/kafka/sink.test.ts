import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBroker, TopicReader, createTopics } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/net.js';
import { requestOf, sendEnvelopes, silentLog } from '../../helpers/capture.js';
import { validateComponent } from '../../../src/config/component.js';
import { decodeLogRecords, decodeMetricPoints, envelopePoints, jsonPoints, referenceLogs } from '../../helpers/otlp.js';
import { createClient, kafkaSink, KafkaSink } from '../../../src/sinks/kafka/sink.js';
import type { KafkaSinkConfig } from '../../../src/sinks/kafka/config.js';
import { PermanentError, RetryableError } from '../../../src/sinks/sink.js';
import { Points, type Envelope } from '../../../src/model.js';

// The Kafka sink against a real Apache Kafka 4.3.1 broker (KRaft, one node): what it produces is read
// back with a plain consumer. The Collector's reading of it is proven in test/e2e/kafka_collector.

function env(device: string, i: number, site = 'site-a', pad = 0): Envelope {
  return {
    source: 's', resource: { 'device.id': device, 'mist.site.id': site }, scope: { name: 'ws2otel/test', version: '0' }, receivedMs: 0,
    metrics: Points.of([{ name: 'test.value', unit: '1', description: '', kind: 'gauge', int: true, value: i, timeMs: 1_700_000_000_000 + i, startTimeMs: 0, attributes: pad ? { pad: 'x'.repeat(pad) } : {} }]),
    logs: [{ timeMs: 1_700_000_000_000 + i, observedMs: 1_700_000_000_000 + i, severityNumber: 9, severityText: 'INFO', body: `event ${i}`, attributes: {} }],
  };
}

let broker: KafkaBroker;
let topicSeq = 0;
// One consumer over every topic the read-back tests use: a consumer group join costs seconds.
let shared: TopicReader;
const READ = ['kafkajs', 'platformatic', 'gzip', 'snappy', 'lz4', 'zstd', 'over'].flatMap((n) => [`m-${n}`, `l-${n}`])
  .concat(['netops.site-a.metrics', 'netops.site-b.metrics']);
const topicsFor = (n: string) => ({ metrics: `m-${n}`, logs: `l-${n}` });
const on = (topics: string[]) => shared.messages.filter((m) => topics.includes(m.topic));

function config(over: Record<string, unknown>): KafkaSinkConfig {
  const { config, problems } = validateComponent(kafkaSink, { name: 'k', type: 'kafka', brokers: [broker.bootstrap], ...over }, 'sinks[0]');
  assert.deepEqual(problems, []);
  return config!;
}

function sink(over: Record<string, unknown>): KafkaSink {
  const c = config(over);
  return new KafkaSink(c, createClient(c, { log: silentLog }), { log: silentLog });
}


const never = new AbortController().signal;

describe('Kafka sink against a real broker', () => {
  before(async () => {
    broker = new KafkaBroker();
    await broker.start();
    shared = new TopicReader(broker.bootstrap, READ);
    await shared.start();
  });
  after(async () => {
    await shared?.stop();
    await broker?.destroy();
  });

  for (const client of ['kafkajs', 'platformatic'] as const) {
    it(`${client}: writes one ExportMetricsServiceRequest / ExportLogsServiceRequest per device, keyed by device.id`, async () => {
      const topics = topicsFor(client);
      const s = sink({ client, topics });
      const batch = [env('d1', 1), env('d2', 2), env('d1', 3)];
      await sendEnvelopes(s, batch, never);
      const r = { get messages() { return on([topics.metrics, topics.logs]); } };
      await waitFor('4 messages', () => r.messages.length >= 4);
      await s.close();
      assert.equal(r.messages.length, 4);
      for (const device of ['d1', 'd2']) {
        const mine = batch.filter((e) => e.resource['device.id'] === device);
        const m = r.messages.filter((x) => x.key === device && x.topic === topics.metrics);
        assert.equal(m.length, 1, `one metrics message for ${device}`);
        assert.deepEqual(decodeMetricPoints(m[0]!.value), envelopePoints(mine), 'one request with every point of the device, in order');
        const l = r.messages.filter((x) => x.key === device && x.topic === topics.logs);
        assert.deepEqual(decodeLogRecords(l[0]!.value), decodeLogRecords(referenceLogs(mine)));
      }
    });
  }

  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`the broker accepts ${compression} batches and a consumer reads back the same messages`, async () => {
      const topics = topicsFor(compression);
      const s = sink({ topics, compression, encoding: 'otlp_json' });
      const batch = Array.from({ length: 20 }, (_, i) => env(`d${i % 4}`, i));
      await sendEnvelopes(s, batch, never);
      const r = { get messages() { return on([topics.metrics]); } };
      await waitFor('4 metrics messages', () => r.messages.length >= 4);
      await s.close();
      for (const m of r.messages) {
        const mine = batch.filter((e) => e.resource['device.id'] === m.key);
        assert.deepEqual(jsonPoints(m.value), envelopePoints(mine));
      }
      assert.deepEqual(r.messages.map((m) => m.key).sort(), ['d0', 'd1', 'd2', 'd3']);
    });
  }

  it('routes by a %{resource attribute} topic template', async () => {
    const r = { get messages() { return on(['netops.site-a.metrics', 'netops.site-b.metrics']); } };
    const s = sink({ topics: { metrics: 'netops.%{mist.site.id}.metrics', logs: 'netops.%{mist.site.id}.logs' } });
    await sendEnvelopes(s, [env('d1', 1, 'site-a'), env('d2', 2, 'site-b')], never);
    await waitFor('2 messages', () => r.messages.length >= 2);
    await s.close();
    assert.deepEqual(r.messages.map((m) => `${m.topic}/${m.key}`).sort(), ['netops.site-a.metrics/d1', 'netops.site-b.metrics/d2']);
  });

  it('an envelope over max_message_bytes is refused when encoded, alone, while the rest of the batch is delivered', async () => {
    const topics = topicsFor('over');
    const r = { get messages() { return on([topics.metrics]); } };
    const s = sink({ topics, max_message_bytes: 4096 });
    const big = env('big', 2, 'site-a', 10_000);
    // The pipeline encodes at accept: this throw rejects the envelope alone (see test/pipeline/exporter).
    assert.throws(() => s.codec.encode(big), (err: Error) => err instanceof RangeError && /larger than max_message_bytes \(4096\)/.test(err.message));
    await sendEnvelopes(s, [env('small', 1)], never);
    await waitFor('the small device', () => r.messages.some((m) => m.key === 'small'));
    await s.close();
    assert.ok(!r.messages.some((m) => m.key === 'big'));
  });

  it("the broker's MESSAGE_TOO_LARGE (topic max.message.bytes) is a PermanentError", async () => {
    const topics = { metrics: `m${++topicSeq}`, logs: `l${topicSeq}` };
    await createTopics(broker.bootstrap, [{ topic: topics.metrics, configEntries: [{ name: 'max.message.bytes', value: '2048' }] }]);
    const s = sink({ topics });
    await assert.rejects(sendEnvelopes(s, [env('d1', 1, 'site-a', 8000)], never), (err: Error) => err instanceof PermanentError && /MESSAGE_TOO_LARGE/.test(err.message));
    await s.close();
  });

  for (const client of ['kafkajs', 'platformatic'] as const) it(`${client}: with the broker down, send throws RetryableError; the same batch is delivered once it is back`, async () => {
    // The shared consumer is done by now; stopping it before the outage keeps its reconnect timers
    // from outliving the suite.
    await shared.stop();
    const topics = { metrics: `m${++topicSeq}`, logs: `l${topicSeq}` };
    await createTopics(broker.bootstrap, [{ topic: topics.metrics }, { topic: topics.logs }]);
    // 1 for kafkajs as before; platformatic's idempotent producer cannot take 1 (checkKafka refuses it).
    const s = sink({ client, topics, timeout: '2s', client_retries: client === 'kafkajs' ? 1 : 0 });
    // Connected, producer id assigned. Retried as the pipeline would: right after the previous test's
    // restart the broker may still answer COORDINATOR_LOAD_IN_PROGRESS, which only the library's own
    // retries used to hide (platformatic's endless ones, before client_retries 1 was refused).
    const warmup = requestOf(s, [env('warmup', 0)]);
    await waitFor('the warm-up batch to be acknowledged', async () => {
      try {
        await s.send(warmup, never);
        return true;
      } catch (err) {
        assert.ok(err instanceof RetryableError, `only retryable errors while the broker settles: ${String(err)}`);
        return false;
      }
    }, 60_000, 500);
    await broker.stop();
    const batch = requestOf(s, [env('d1', 1), env('d2', 2)]);
    await assert.rejects(s.send(batch, never), RetryableError);
    await broker.start();
    await waitFor('the batch to be acknowledged', async () => {
      try {
        await s.send(batch, never);
        return true;
      } catch (err) {
        assert.ok(err instanceof RetryableError, `only retryable errors while the broker restarts: ${String(err)}`);
        return false;
      }
    }, 60_000, 500);
    const r = new TopicReader(broker.bootstrap, [topics.metrics]);
    await r.start();
    await waitFor('d1, d2 and warmup', () => new Set(r.messages.map((m) => m.key)).size >= 3);
    await s.close();
    await r.stop();
    assert.deepEqual([...new Set(r.messages.map((m) => m.key))].sort(), ['d1', 'd2', 'warmup']);
  });
});
