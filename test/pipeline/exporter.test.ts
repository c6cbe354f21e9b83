import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SinkExporter, createBuffer } from '../../src/pipeline/exporter.js';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { BufferFullError, type ItemBuffer } from '../../src/pipeline/buffer.js';
import { DiskBuffer } from '../../src/pipeline/disk_buffer.js';
import { DeadLetter } from '../../src/pipeline/dead_letter.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { PermanentError, RetryableError, type CommonSinkConfig, type Sink } from '../../src/sinks/sink.js';
import { ExportRequest } from '../../src/pipeline/request.js';
import { Points, type Envelope } from '../../src/model.js';
import { envelopeCodec, envelopeOf, itemOf, metricValue, selfMetric, silentLog } from '../helpers/capture.js';
import { Registry } from 'prom-client';
import { sinkMetrics } from '../../src/telemetry/metrics.js';
import { otlpCodec } from '../../src/encoding/otlp.js';
import type { Codec } from '../../src/encoding/codec.js';
import { kafkaCodec } from '../../src/sinks/kafka/messages.js';
import { kafkaSink } from '../../src/sinks/kafka/sink.js';
import type { KafkaSinkConfig } from '../../src/sinks/kafka/config.js';
import { validateComponent } from '../../src/config/component.js';
import { readFileSync } from 'node:fs';
import { waitFor } from '../helpers/net.js';
import { onSmallTmpfs } from '../helpers/tmpfs.js';

// The pipeline's contract with any sink: batches by count and time, at-least-once (a batch leaves the
// buffer only when send resolved), retries retryable failures, counts every drop. The sink here is a
// recorder whose answers the test scripts; real sinks are proven against real peers in test/e2e.

let n = 0;
function env(source = 's', i = 0): Envelope {
  return { source, resource: { i }, scope: { name: 't', version: '0' }, metrics: new Points(), logs: [], receivedMs: i };
}

class ScriptedSink implements Sink {
  readonly name = `scripted-${++n}`;
  codec: Codec = envelopeCodec;
  batches: Envelope[][] = [];
  failures: Error[] = [];
  gate: Promise<void> | undefined;
  async send(req: ExportRequest): Promise<void> {
    if (this.gate) await this.gate;
    const f = this.failures.shift();
    if (f) throw f;
    this.batches.push(req.items.map(envelopeOf));
  }
  async close(): Promise<void> {}
}

const DATA = mkdtempSync(join(tmpdir(), 'ws2otel-exporter-'));

function exporter(sink: Sink, c: CommonSinkConfig): SinkExporter {
  return new SinkExporter(sink, c, silentLog, createBuffer(c, DATA, silentLog), DATA);
}

function pipelineOf(exporters: SinkExporter[]): Pipeline {
  const p = new Pipeline();
  p.setExporters(exporters);
  return p;
}

function cfg(over: Partial<CommonSinkConfig> = {}): CommonSinkConfig {
  return {
    name: 'x', type: 'test', inputs: [], batch: { max_events: 3, timeout: 50 },
    buffer: { type: 'memory', max_events: 10, max_bytes: 0, when_full: 'block', fsync: 1000 },
    retry: { initial_interval: 1, max_interval: 5, max_elapsed_time: 0 }, ...over,
  };
}

describe('sink exporter', () => {
  it('sends full batches at once and the remainder after the batch timeout', async () => {
    const sink = new ScriptedSink();
    const e = exporter(sink, cfg());
    for (let i = 0; i < 7; i++) e.offer(env('s', i));
    await waitFor('three batches', () => sink.batches.length === 3);
    assert.deepEqual(sink.batches.map((b) => b.map((x) => x.resource.i)), [[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('retries retryable failures and keeps order, counting retries', async () => {
    const sink = new ScriptedSink();
    sink.failures = [new RetryableError('503'), new RetryableError('503', 5)];
    const e = exporter(sink, cfg());
    for (let i = 0; i < 3; i++) e.offer(env('s', i));
    await waitFor('delivery after retries', () => sink.batches.length === 1);
    assert.deepEqual(sink.batches[0]!.map((x) => x.resource.i), [0, 1, 2]);
    assert.equal(await selfMetric('retries', { sink: sink.name }), 2);
    assert.equal(await selfMetric('eventsSent', { sink: sink.name }), 3);
  });

  it('counts into the metric families its context gives it: a fresh registry sees the sends, the daemon\'s sees none', async () => {
    const registry = new Registry();
    const metrics = sinkMetrics(registry);
    const sink = new ScriptedSink();
    sink.failures = [new RetryableError('503')];
    const c = cfg();
    const e = new SinkExporter(sink, c, silentLog, createBuffer(c, DATA, silentLog, undefined, metrics), DATA, metrics);
    for (let i = 0; i < 3; i++) e.offer(env('s', i));
    await waitFor('delivery after a retry', () => sink.batches.length === 1);
    assert.equal(await metricValue(metrics.eventsSent, { sink: sink.name }), 3);
    assert.equal(await metricValue(metrics.retries, { sink: sink.name }), 1);
    assert.equal(await selfMetric('eventsSent', { sink: sink.name }), 0, 'nothing reached the process-wide registry');
  });

  it('drops a batch refused for good as a whole (not about its data), counted, and goes on with the next', async () => {
    const sink = new ScriptedSink();
    sink.failures = [new PermanentError('401 unauthorized', { splittable: false })];
    const e = exporter(sink, cfg());
    for (let i = 0; i < 6; i++) e.offer(env('s', i));
    await waitFor('second batch', () => sink.batches.length === 1);
    assert.deepEqual(sink.batches[0]!.map((x) => x.resource.i), [3, 4, 5]);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'rejected' }), 3);
  });

  it('when_full drop_newest counts what it drops', async () => {
    const sink = new ScriptedSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const e = exporter(sink, cfg({ buffer: { type: 'memory', max_events: 4, max_bytes: 0, when_full: 'drop_newest', fsync: 1000 } }));
    for (let i = 0; i < 10; i++) assert.equal(e.offer(env('s', i)), true);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'buffer_full' }), 6);
    open();
    sink.gate = undefined;
    await waitFor('the kept four', () => sink.batches.flat().length === 4);
    assert.deepEqual(sink.batches.flat().map((x) => x.resource.i), [0, 1, 2, 3]);
  });

  it('when_full block asks its sources to pause and resumes them when there is room', async () => {
    const sink = new ScriptedSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const e = exporter(sink, cfg({ buffer: { type: 'memory', max_events: 4, max_bytes: 0, when_full: 'block', fsync: 1000 } }));
    const pipeline = pipelineOf([e]);
    const emitter = pipeline.emitterFor('s');
    const answers = [0, 1, 2, 3].map((i) => emitter.emit(env('s', i)));
    assert.deepEqual(answers, [true, true, true, false]);
    let resumed = false;
    emitter.onDrain(() => (resumed = true));
    assert.equal(resumed, false);
    open();
    sink.gate = undefined;
    await waitFor('resume', () => resumed);
    assert.equal(await selfMetric('dropped', { sink: sink.name }), 0);
  });

  it('a blocked sink does not pause a source it does not read', async () => {
    const slow = new ScriptedSink();
    slow.gate = new Promise(() => undefined);
    const fast = new ScriptedSink();
    const a = exporter(slow, cfg({ inputs: ['a'], buffer: { type: 'memory', max_events: 1, max_bytes: 0, when_full: 'block', fsync: 1000 } }));
    const b = exporter(fast, cfg({ inputs: ['b'] }));
    const pipeline = pipelineOf([a, b]);
    assert.equal(pipeline.emitterFor('a').emit(env('a')), false);
    assert.equal(pipeline.emitterFor('b').emit(env('b')), true);
    let resumed = false;
    pipeline.emitterFor('b').onDrain(() => (resumed = true));
    await waitFor('b resumes at once', () => resumed);
  });

  it('flush delivers everything buffered before returning', async () => {
    const sink = new ScriptedSink();
    const e = exporter(sink, cfg({ batch: { max_events: 100, timeout: 60_000 } }));
    for (let i = 0; i < 5; i++) e.offer(env('s', i));
    assert.equal(await e.flush(Date.now() + 5000), 0);
    assert.equal(sink.batches.flat().length, 5);
  });

  it('flush gives up at the deadline and reports what is left', async () => {
    const sink = new ScriptedSink();
    sink.gate = new Promise(() => undefined);
    const e = exporter(sink, cfg());
    for (let i = 0; i < 2; i++) e.offer(env('s', i));
    assert.equal(await e.flush(Date.now() + 100), 2);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'shutdown' }), 2);
  });

  it('when_full block holds at most one batch of overflow beyond the cap, counting what it refuses', async () => {
    const sink = new ScriptedSink();
    sink.gate = new Promise(() => undefined);
    const c = cfg({ batch: { max_events: 5, timeout: 50 }, buffer: { type: 'memory', max_events: 20, max_bytes: 0, when_full: 'block', fsync: 1000 } });
    const e = exporter(sink, c);
    // One frame that fans out into 100,000 envelopes: the source cannot stop in the middle of it.
    for (let i = 0; i < 100_000; i++) e.offer(env('s', i));
    const held = await selfMetric('bufferEvents', { sink: sink.name });
    const refused = await selfMetric('dropped', { sink: sink.name, reason: 'buffer_full' });
    assert.ok(held <= 20 + 5, `${held} envelopes held with a cap of 20 and batches of 5`);
    assert.equal(held + refused, 100_000, 'every envelope is held or counted');
    assert.equal(e.status().ready, false);
  });

  it('a disk buffer that filled the disk drains and takes the waiting envelopes once the sink is back', (t) =>
    onSmallTmpfs(t, async (mnt) => {
      const sink = new ScriptedSink();
      let open!: () => void;
      sink.gate = new Promise((r) => (open = r));
      const c = cfg({ batch: { max_events: 50, timeout: 20 }, buffer: { type: 'disk', max_events: 100_000, max_bytes: 64 * 1024 * 1024, when_full: 'block', fsync: 1000 } });
      const e = new SinkExporter(sink, c, silentLog, createBuffer(c, mnt, silentLog), mnt);
      const big = (i: number): Envelope => ({ ...env('s', i), logs: [{ timeMs: i, observedMs: i, severityNumber: 9, severityText: 'INFO', body: 'x'.repeat(500), attributes: {} }] });
      let offered = 0;
      while (e.offer(big(offered++)));
      for (let i = 0; i < 3; i++) e.offer(big(offered++)); // decoded before the source paused
      assert.ok(offered > 100, `${offered} offered before the disk filled`);
      open();
      sink.gate = undefined;
      await waitFor('every offered envelope delivered', () => sink.batches.flat().length === offered);
      assert.deepEqual(sink.batches.flat().map((x) => x.resource.i), Array.from({ length: offered }, (_, i) => i));
      assert.equal(e.status().ready, true);
      await e.flush(Date.now() + 2000);
    }));

  it('flush returns at the deadline when the buffer refuses every write, counting the waiting envelopes as lost', async () => {
    const refusing: ItemBuffer = {
      size: 0, bytes: 0, full: false, pending: 0,
      push: () => { throw new BufferFullError('disk buffer write failed: ENOSPC', 'ENOSPC'); },
      dropOldest: () => false, take: () => [], ack: () => undefined, unTake: () => undefined, close: () => undefined,
    };
    const sink = new ScriptedSink();
    const c = cfg({ buffer: { type: 'disk', max_events: 10, max_bytes: 1 << 20, when_full: 'block', fsync: 1000 } });
    const e = new SinkExporter(sink, c, silentLog, refusing, DATA);
    assert.equal(e.offer(env('s', 1)), false);
    assert.equal(await e.flush(Date.now() + 200), 1);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'shutdown' }), 1);
  });

  it('sinks whose names differ only in punctuation (s/1, s_1) get their own buffer and dead-letter file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-names-'));
    const disk = (name: string) => cfg({ name, buffer: { type: 'disk', max_events: 10, max_bytes: 1 << 20, when_full: 'block', fsync: 1000 } });
    const a = createBuffer(disk('s/1'), dir, silentLog);
    a.push(itemOf(env('s', 1)));
    a.close();
    const b = createBuffer(disk('s_1'), dir, silentLog);
    assert.equal(b.size, 0, "s_1 does not see s/1's envelopes");
    b.close();
    assert.equal(createBuffer(disk('s/1'), dir, silentLog).size, 1);
    new DeadLetter(dir, 's/1', silentLog).writeEnvelope(env('s', 1), 'x');
    new DeadLetter(dir, 's_1', silentLog).writeItems([itemOf(env('s', 2))], 'x', envelopeCodec);
    assert.equal(readdirSync(join(dir, 'dead_letter')).length, 2);
    for (const name of ['..', '.']) {
      const c = createBuffer(disk(name), dir, silentLog);
      c.close();
      assert.ok(readdirSync(join(dir, 'buffer')).every((f) => f !== '.' && f !== '..'));
      assert.ok(!readdirSync(dir).some((f) => f.endsWith('.log')), `${name} stays inside data_dir/buffer`);
    }
  });

  /** Dead-letter lines of a sink, as written. */
  const deadLetters = (sink: Sink) => {
    try {
      return readFileSync(join(DATA, 'dead_letter', `${sink.name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; envelope?: Envelope; data?: Envelope });
    } catch {
      return [];
    }
  };

  it('an envelope no encoder can carry is rejected alone when offered, counted and dead-lettered; its neighbours are delivered', async () => {
    // A sink that encodes as the real ones do (OTLP protobuf), keeping the envelope JSON to read back.
    class EncodingSink extends ScriptedSink {
      override codec: Codec = {
        ...envelopeCodec,
        encode: (x) => (otlpCodec('proto').encode(x), envelopeCodec.encode(x)),
      };
    }
    const sink = new EncodingSink();
    const e = exporter(sink, cfg());
    const point = (i: number, timeMs: number, value: number) => ({
      ...env('s', i), metrics: Points.of([{ name: 'm', unit: '1', description: '', kind: 'gauge' as const, int: false, value, timeMs, startTimeMs: timeMs, attributes: {} }]),
    });
    for (let i = 0; i < 6; i++) e.offer(point(i, i === 2 ? NaN : i === 4 ? 1000 : 1000, i === 4 ? Infinity : i));
    await waitFor('the four good envelopes', () => sink.batches.flat().length === 4);
    assert.deepEqual(sink.batches.flat().map((x) => x.resource.i), [0, 1, 3, 5]);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'invalid' }), 2);
    assert.deepEqual(deadLetters(sink).map((d) => d.envelope!.resource.i), [2, 4]);
    assert.match(deadLetters(sink)[0]!.reason, /invalid: .*time/);
  });

  it('a request refused for good is split until only the envelope the sink refuses is dead-lettered', async () => {
    // As an OTLP receiver answering 400 to any request holding the one bad envelope.
    class PickySink extends ScriptedSink {
      attempts = 0;
      override async send(req: ExportRequest): Promise<void> {
        this.attempts++;
        if (req.items.some((x) => envelopeOf(x).resource.i === 4)) throw new PermanentError('HTTP 400 value out of range');
        await super.send(req);
      }
    }
    const sink = new PickySink();
    const e = exporter(sink, cfg({ batch: { max_events: 8, timeout: 20 }, buffer: { type: 'memory', max_events: 20, max_bytes: 0, when_full: 'block', fsync: 1000 } }));
    for (let i = 0; i < 8; i++) e.offer(env('s', i));
    await waitFor('the seven good envelopes', () => sink.batches.flat().length === 7);
    assert.deepEqual(sink.batches.flat().map((x) => x.resource.i), [0, 1, 2, 3, 5, 6, 7], 'in order');
    assert.deepEqual(deadLetters(sink).map((d) => d.data!.resource.i), [4], 'the refused item, decoded back to its readable form');
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'rejected' }), 1);
    assert.equal(await selfMetric('eventsSent', { sink: sink.name }), 7);
    assert.ok(sink.attempts <= 1 + 2 * Math.ceil(Math.log2(8)), `${sink.attempts} attempts`);
  });

  it('a sink that names the envelopes it refused has only those dead-lettered; the rest counts as sent', async () => {
    class NamingSink extends ScriptedSink {
      override async send(req: ExportRequest): Promise<void> {
        const bad = req.items.filter((x) => envelopeOf(x).resource.i === 1);
        await super.send(new ExportRequest(req.items.filter((x) => !bad.includes(x))));
        if (bad.length) throw new PermanentError('1 message too large', { rejected: bad });
      }
    }
    const sink = new NamingSink();
    const e = exporter(sink, cfg());
    for (let i = 0; i < 3; i++) e.offer(env('s', i));
    await waitFor('the batch', () => deadLetters(sink).length === 1);
    assert.deepEqual(sink.batches.map((b) => b.map((x) => x.resource.i)), [[0, 2]], 'sent once, not split and resent');
    assert.equal(await selfMetric('eventsSent', { sink: sink.name }), 2);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'rejected' }), 1);
  });

  it("an envelope the sink's encoder refuses is rejected alone at accept, counted and dead-lettered as it came; its batch is delivered", async () => {
    // The Kafka codec refuses, when it encodes, an envelope whose message could never fit max_message_bytes.
    const { config } = validateComponent(kafkaSink, { name: 'k', type: 'kafka', brokers: ['127.0.0.1:9092'], max_message_bytes: 2048 }, 'sinks[0]');
    const kafka = kafkaCodec(config as KafkaSinkConfig);
    class KafkaEncodingSink extends ScriptedSink {
      readonly keys: string[][] = [];
      override codec = kafka;
      override async send(req: ExportRequest): Promise<void> {
        this.keys.push(req.items.map((x) => (kafka.readable(x.bytes) as { key: string }).key));
      }
    }
    const sink = new KafkaEncodingSink();
    const e = exporter(sink, cfg({ batch: { max_events: 3, timeout: 20 } }));
    const device = (i: number, pad: number): Envelope => ({
      ...env('s', i), resource: { 'device.id': `d${i}` },
      metrics: Points.of([{ name: 'm', unit: '1', description: '', kind: 'gauge', int: true, value: i, timeMs: 1000, startTimeMs: 1000, attributes: { pad: 'x'.repeat(pad) } }]),
    });
    for (const [i, pad] of [[0, 10], [1, 5000], [2, 10], [3, 10]] as const) e.offer(device(i, pad));
    await waitFor('one batch of the three that fit', () => sink.keys.length === 1);
    assert.deepEqual(sink.keys, [['d0', 'd2', 'd3']]);
    assert.equal(await selfMetric('dropped', { sink: sink.name, reason: 'invalid' }), 1);
    assert.equal(await selfMetric('eventsSent', { sink: sink.name }), 3);
    const [dead] = deadLetters(sink);
    assert.equal(dead!.envelope!.resource['device.id'], 'd1', 'the envelope itself, readable');
    assert.match(dead!.reason, /invalid: metrics: a message of \d+ bytes is larger than max_message_bytes \(2048\)/);
  });
});
