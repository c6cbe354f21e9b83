import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBuffer } from '../../src/pipeline/memory_buffer.js';
import { Points, type Envelope } from '../../src/model.js';
import { otlpCodec } from '../../src/encoding/otlp.js';
import { itemOf } from '../helpers/capture.js';

const MiB = 1024 * 1024;

function bigEnvelope(i: number, where: 'body' | 'resource' | 'attribute'): Envelope {
  const big = String(i % 10).repeat(MiB);
  return {
    source: 's', resource: where === 'resource' ? { 'device.name': big } : { 'device.id': `d${i}` }, scope: { name: 't', version: '0' }, receivedMs: i, metrics: new Points(),
    logs: [{ timeMs: i, observedMs: i, severityNumber: 9, severityText: 'INFO', body: where === 'body' ? big : 'x', attributes: where === 'attribute' ? { a: big } : {} }],
  };
}

describe('memory buffer', () => {
  for (const where of ['body', 'resource', 'attribute'] as const) {
    it(`counts the encoded size of a 1 MiB string in a ${where}, so max_bytes bounds what it holds`, () => {
      const b = new MemoryBuffer(1000, 4 * MiB);
      let held = 0;
      while (!b.full) {
        b.push(itemOf(bigEnvelope(held, where), otlpCodec('proto')));
        held++;
      }
      assert.ok(b.bytes >= held * MiB, `${b.bytes} bytes counted for ${held} envelopes of 1 MiB`);
      assert.ok(held <= 4, `${held} envelopes of 1 MiB held under a 4 MiB cap`);
      b.take(1);
      b.ack();
      assert.ok(b.bytes >= (held - 1) * MiB && b.bytes < held * MiB + 64 * 1024, 'an ack gives the size back');
    });
  }

  it('counts as its bytes exactly the encoded bytes it holds, through push, drop, take and ack', () => {
    const b = new MemoryBuffer(1000);
    const items = Array.from({ length: 7 }, (_, i) => itemOf(bigEnvelope(i, 'body'), otlpCodec('json')));
    for (const it of items) b.push(it);
    const sum = (xs: { bytes: Buffer }[]) => xs.reduce((n, x) => n + x.bytes.length, 0);
    assert.equal(b.bytes, sum(items));
    const taken = b.take(2);
    assert.equal(b.bytes, sum(items), 'in flight is still held');
    assert.ok(b.dropOldest());
    assert.equal(b.bytes, sum(items) - items[2]!.bytes.length, 'the oldest not in flight was dropped');
    b.ack();
    assert.equal(b.bytes, sum(items.slice(3)), 'acknowledged bytes are given back');
    assert.equal(taken.length, 2);
  });
});
