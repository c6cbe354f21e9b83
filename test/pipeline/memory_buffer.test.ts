import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBuffer } from '../../src/pipeline/memory_buffer.js';
import type { Envelope } from '../../src/model.js';

const MiB = 1024 * 1024;

function bigEnvelope(i: number, where: 'body' | 'resource' | 'attribute'): Envelope {
  const big = String(i % 10).repeat(MiB);
  return {
    source: 's', resource: where === 'resource' ? { 'device.name': big } : { 'device.id': `d${i}` }, scope: { name: 't', version: '0' }, receivedMs: i, metrics: [],
    logs: [{ timeMs: i, observedMs: i, severityNumber: 9, severityText: 'INFO', body: where === 'body' ? big : 'x', attributes: where === 'attribute' ? { a: big } : {} }],
  };
}

describe('memory buffer', () => {
  for (const where of ['body', 'resource', 'attribute'] as const) {
    it(`counts the real size of a 1 MiB string in a ${where}, so max_bytes bounds what it holds`, () => {
      const b = new MemoryBuffer(1000, 4 * MiB);
      let held = 0;
      while (!b.full) {
        b.push(bigEnvelope(held, where));
        held++;
      }
      assert.ok(b.bytes >= held * MiB, `${b.bytes} bytes counted for ${held} envelopes of 1 MiB`);
      assert.ok(held <= 4, `${held} envelopes of 1 MiB held under a 4 MiB cap`);
      b.take(1);
      b.ack();
      assert.ok(b.bytes >= (held - 1) * MiB && b.bytes < held * MiB + 64 * 1024, 'an ack gives the size back');
    });
  }
});
