import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SinkExporter, createBuffer } from '../../src/pipeline/exporter.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { PermanentError, RetryableError, type CommonSinkConfig, type Sink } from '../../src/sinks/sink.js';
import type { Envelope } from '../../src/model.js';
import { selfMetric, silentLog } from '../helpers/capture.js';
import { waitFor } from '../helpers/net.js';

// The pipeline's contract with any sink: batches by count and time, at-least-once (a batch leaves the
// buffer only when send resolved), retries retryable failures, counts every drop. The sink here is a
// recorder whose answers the test scripts; real sinks are proven against real peers in test/e2e.

let n = 0;
function env(source = 's', i = 0): Envelope {
  return { source, resource: { i }, scope: { name: 't', version: '0' }, metrics: [], logs: [], receivedMs: i };
}

class ScriptedSink implements Sink {
  readonly name = `scripted-${++n}`;
  batches: Envelope[][] = [];
  failures: Error[] = [];
  gate: Promise<void> | undefined;
  async send(batch: readonly Envelope[]): Promise<void> {
    if (this.gate) await this.gate;
    const f = this.failures.shift();
    if (f) throw f;
    this.batches.push([...batch]);
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

  it('drops a permanently rejected batch, counted, and goes on with the next', async () => {
    const sink = new ScriptedSink();
    sink.failures = [new PermanentError('400 bad data')];
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
});
