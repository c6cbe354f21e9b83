import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateComponent } from '../../../src/config/component.js';
import { buildConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/config/errors.js';
import { kafkaSink } from '../../../src/sinks/kafka/sink.js';
import type { KafkaSinkConfig } from '../../../src/sinks/kafka/config.js';
import { buildMessages, chunkRequests, kafkaCodec, renderTopic } from '../../../src/sinks/kafka/messages.js';
import { classify, protocolErrorNames } from '../../../src/sinks/kafka/client.js';
import { kafkajsOptions } from '../../../src/sinks/kafka/kafkajs_client.js';
import { platformaticRetries } from '../../../src/sinks/kafka/platformatic_client.js';
import { flatPoint, flatRecord, unixNanoString } from '../../../src/encoding/flat_json.js';
import { snappyDecompress } from '../../../src/sinks/kafka/codecs.js';
import { PermanentError, RetryableError } from '../../../src/sinks/sink.js';
import { itemOf, silentLog } from '../../helpers/capture.js';
import { Points, type Envelope } from '../../../src/model.js';

// Message building, flat JSON, config checks and error classification, without a broker.

function env(device: string | undefined, i: number, pad = 0): Envelope {
  return {
    source: 's', resource: { ...(device ? { 'device.id': device } : {}), 'mist.site.id': 'Site A/1' }, scope: { name: 'ws2otel/test', version: '0' }, receivedMs: 0,
    metrics: Points.of([{ name: 'test.bytes', unit: 'By', description: '', kind: 'counter', int: true, value: i, timeMs: 1_700_000_000_000.5 + i, startTimeMs: 1_600_000_000_000, attributes: { port: 'eth0', ...(pad ? { pad: 'x'.repeat(pad) } : {}) } }]),
    logs: [],
  };
}

function cfg(over: Record<string, unknown> = {}): KafkaSinkConfig {
  const { config, problems } = validateComponent(kafkaSink, { name: 'k', type: 'kafka', brokers: ['127.0.0.1:9092'], ...over }, 'sinks[0]');
  assert.deepEqual(problems, []);
  return config!;
}

function problems(over: Record<string, unknown>): string[] {
  return validateComponent(kafkaSink, { name: 'k', type: 'kafka', brokers: ['127.0.0.1:9092'], ...over }, 'sinks[0]').problems;
}

describe('Kafka sink messages', () => {
  it('defaults: otlp_proto, acks all, idempotent, key device.id, the Collector topic names', () => {
    const c = cfg();
    assert.equal(c.encoding, 'otlp_proto');
    assert.equal(c.acks, 'all');
    assert.equal(c.idempotent, true);
    assert.equal(c.key_attribute, 'device.id');
    assert.deepEqual(c.topics, { metrics: 'otlp_metrics', logs: 'otlp_logs' });
    assert.equal(c.client, 'kafkajs');
  });

  it('renders %{attr} topic templates, sanitising values and naming a missing attribute unknown', () => {
    assert.equal(renderTopic('netops.%{mist.site.id}.metrics', { 'mist.site.id': 'Site A/1' }), 'netops.Site_A_1.metrics');
    assert.equal(renderTopic('netops.%{mist.site.id}.metrics', {}), 'netops.unknown.metrics');
    assert.equal(renderTopic('plain', { a: 1 }), 'plain');
  });

  it('one message per device key; envelopes without the key attribute share a keyless message', () => {
    const c = cfg();
    const items = [env('a', 1), env('b', 2), env('a', 3), env(undefined, 4)].map((e) => itemOf(e, kafkaCodec(c)));
    const { messages } = buildMessages(items, 'metrics', c);
    assert.deepEqual(messages.map((m) => m.key?.toString() ?? null), ['a', 'b', null]);
    assert.equal(buildMessages([itemOf(env('a', 1), kafkaCodec(c))], 'logs', c).messages.length, 0, 'no logs, no message');
  });

  it('splits a group over max_message_bytes by envelope, in order, and reports an envelope too large on its own', () => {
    const c = cfg({ max_message_bytes: 2048, encoding: 'otlp_json' });
    // The codec refuses the large one when it encodes it (see the next test); encoded under a larger
    // limit, as by an older config, it reaches buildMessages, which reports it rather than sending it.
    const larger = kafkaCodec(cfg({ max_message_bytes: 1 << 20, encoding: 'otlp_json' }));
    const batch = [itemOf(env('a', 1, 900), kafkaCodec(c)), itemOf(env('a', 2, 900), kafkaCodec(c)), itemOf(env('a', 3, 900), kafkaCodec(c)), itemOf(env('a', 4, 5000), larger)];
    const { messages, oversized } = buildMessages(batch, 'metrics', c);
    assert.ok(messages.every((m) => m.value.length + 1 <= 2048));
    const values = messages.flatMap((m) => JSON.parse(m.value.toString()).resourceMetrics.flatMap((rm: any) => rm.scopeMetrics[0].metrics[0].sum.dataPoints.map((d: any) => Number(d.asInt))));
    assert.deepEqual(values, [1, 2, 3]);
    assert.equal(oversized.length, 1);
    assert.ok(oversized[0]!.bytes > 5000);
  });

  it('refuses, when it encodes it, an envelope whose message could never fit max_message_bytes', () => {
    for (const encoding of ['otlp_proto', 'otlp_json', 'json'] as const) {
      const codec = kafkaCodec(cfg({ max_message_bytes: 2048, encoding }));
      assert.throws(() => codec.encode(env('a', 4, 5000)), (err: Error) => err instanceof RangeError && /larger than max_message_bytes \(2048\)/.test(err.message), encoding);
      assert.ok(codec.encode(env('a', 1, 900)).length > 900, `${encoding}: one that fits is encoded`);
    }
  });

  it('json: one message per point, each line of an item', () => {
    const c = cfg({ encoding: 'json' });
    const two: Envelope = { ...env('a', 1), metrics: Points.of([...env('a', 1).metrics, ...env('a', 2).metrics]) };
    const { messages } = buildMessages([itemOf(two, kafkaCodec(c)), itemOf(env('b', 3), kafkaCodec(c))], 'metrics', c);
    assert.deepEqual(messages.map((m) => [m.key?.toString(), (JSON.parse(m.value.toString()) as { value: number }).value]), [['a', 1], ['a', 2], ['b', 3]]);
  });

  it('cuts produce requests at max_request_bytes without reordering', () => {
    const m = (n: number) => ({ topic: 't', key: null, value: Buffer.alloc(n, n) });
    const chunks = chunkRequests([m(40), m(40), m(40), m(90)], 100);
    assert.deepEqual(chunks.map((c) => c.map((x) => x.value.length)), [[40, 40], [40], [90]]);
  });

  it('json: one flat object per point with resource and attributes inlined, fixed fields protected', () => {
    const e = env('a', 7);
    e.metrics.at(0).attributes.value = 'clash';
    const doc = flatPoint(e, e.metrics.at(0));
    assert.deepEqual(doc, {
      signal: 'metric', timestamp: 1_700_000_000_007, time_unix_nano: '1700000000007500000', name: 'test.bytes', unit: 'By', type: 'counter',
      value: 7, start_timestamp: 1_600_000_000_000, scope: 'ws2otel/test', 'device.id': 'a', 'mist.site.id': 'Site A/1', port: 'eth0', 'attr.value': 'clash',
    });
    const rec = flatRecord(e, { timeMs: 5, observedMs: 6, severityNumber: 13, severityText: 'WARN', body: 'down', eventName: 'mist.AP_DISCONNECTED', attributes: { reason: 'x' } });
    assert.equal(rec.signal, 'log');
    assert.equal(rec.severity_text, 'WARN');
    assert.equal(rec.event_name, 'mist.AP_DISCONNECTED');
    assert.equal(rec.reason, 'x');
    assert.equal(unixNanoString(1.5), '1500000');
  });

  it('rejects bad topic templates, idempotence without acks all, and SASL without credentials', () => {
    assert.match(problems({ topics: { metrics: 'a b', logs: 'l' } }).join(), /topics.metrics: outside %\{...\}/);
    assert.match(problems({ topics: { metrics: 'x.%{}', logs: 'l' } }).join(), /needs a resource attribute name/);
    assert.match(problems({ acks: 'leader' }).join(), /idempotent: needs acks: all/);
    assert.deepEqual(problems({ acks: 'leader', idempotent: false }), []);
    assert.match(problems({ sasl: { mechanism: 'scram-sha-512', username: 'u' } }).join(), /sasl: username and password are required/);
    assert.match(problems({ brokers: ['nohost'] }).join(), /brokers\[0\]: must be host:port/);
    assert.match(problems({ compression: 'brotli' }).join(), /compression/);
  });

  it('client_retries is 0..10; with idempotent, 0 is refused for kafkajs (it fails every send) and 1 for platformatic (it would retry forever)', () => {
    assert.match(problems({ client_retries: 11 }).join(), /client_retries: must be between 0 and 10/);
    assert.match(problems({ client: 'platformatic', client_retries: 1 }).join(), /client_retries: 1 cannot be honoured by client platformatic/);
    assert.deepEqual(problems({ client: 'platformatic', client_retries: 1, idempotent: false, acks: 'leader' }), []);
    assert.deepEqual(problems({ client: 'kafkajs', client_retries: 1 }), []);
    assert.match(problems({ client: 'kafkajs', client_retries: 0 }).join(), /client_retries: 0 is refused by the kafkajs idempotent producer/);
    assert.deepEqual(problems({ client: 'kafkajs', client_retries: 0, idempotent: false, acks: 'leader' }), []);
    // The library's spelling of "no retries" for an idempotent producer; any other number passes as is.
    assert.equal(platformaticRetries(0, true), false);
    assert.equal(platformaticRetries(0, false), 0);
    assert.equal(platformaticRetries(2, true), 2);
  });

  it('reads the SASL password from password_file and maps SASL/TLS to kafkajs options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-kafka-cfg-'));
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    const c = cfg({ sasl: { mechanism: 'scram-sha-256', username: 'svc', password_file: join(dir, 'pw') }, tls: { enabled: true, ca_file: join(dir, 'ca.pem'), server_name: 'kafka.example' } });
    assert.equal(c.sasl.password, 's3cret');
    const o = kafkajsOptions(c, silentLog);
    assert.deepEqual(o.sasl, { mechanism: 'scram-sha-256', username: 'svc', password: 's3cret' });
    assert.equal((o.ssl as { servername: string }).servername, 'kafka.example');
    assert.equal((o.ssl as { ca: Buffer }).ca.toString(), 'CA');
    assert.equal(o.retry?.retries, 2, "the client's own retries are bounded");
    rmSync(dir, { recursive: true, force: true });
  });

  it('the SASL password can come from the environment through ${ENV}', () => {
    const config = buildConfig({
      sources: [{ name: 'm', type: 'mist', url: 'ws://127.0.0.1:1/x', token: 't', channels: ['/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices'] }],
      sinks: [{ name: 'k', type: 'kafka', brokers: ['b:9092'], sasl: { mechanism: 'plain', username: 'u', password: '${KAFKA_PW}' } }],
    }, { KAFKA_PW: 'from-env' });
    assert.equal((config.sinks[0]!.config as unknown as KafkaSinkConfig).sasl.password, 'from-env');
    assert.throws(() => buildConfig({ sources: [], sinks: [{ name: 'k', type: 'kafka', brokers: ['b:9092'], sasl: { mechanism: 'plain', username: 'u', password: '${KAFKA_PW}' } }] }, {}), ConfigError);
  });

  it('classifies record-size and topic errors as permanent, connection and leadership errors as retryable', () => {
    const tooLarge = Object.assign(new Error('retries exceeded'), { cause: Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }) });
    assert.ok(classify(tooLarge) instanceof PermanentError);
    const plt = Object.assign(new AggregateError([Object.assign(new Error('x'), { apiId: 'RECORD_LIST_TOO_LARGE' })], 'response'), {});
    assert.ok(classify(plt) instanceof PermanentError);
    assert.deepEqual(protocolErrorNames(plt), ['RECORD_LIST_TOO_LARGE']);
    assert.ok(classify(Object.assign(new Error('conn refused'), { name: 'KafkaJSConnectionError' })) instanceof RetryableError);
    assert.ok(classify(Object.assign(new Error('nl'), { type: 'NOT_LEADER_OR_FOLLOWER' })) instanceof RetryableError);
  });

  it('snappy decompression reads raw blocks and the xerial framing Java clients write', () => {
    const calls: Buffer[] = [];
    const fake = (b: Buffer) => (calls.push(b), Buffer.from(b.toString().toUpperCase()));
    assert.equal(snappyDecompress(Buffer.from('raw'), fake).toString(), 'RAW');
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const block = (s: string) => Buffer.concat([Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
    assert.equal(snappyDecompress(Buffer.concat([header, block('ab'), block('cd')]), fake).toString(), 'ABCD');
  });
});
