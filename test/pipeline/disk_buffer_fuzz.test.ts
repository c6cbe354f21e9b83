import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBuffer } from '../../src/pipeline/disk_buffer.js';
import { Points, type Envelope, type MetricPoint } from '../../src/model.js';
import { envelopeOf, itemOf, silentLog } from '../helpers/capture.js';

// Random damage to a disk buffer's files (overwritten runs of bytes, a torn tail, a rewritten ack
// file) and the promises recovery keeps whatever the damage: it opens, it counts what it skipped, and
// it never loses an unacknowledged record silently: every record whose bytes are intact comes back,
// and a record that does not is accounted for in the bytes reported as skipped.

function env(i: number): Envelope {
  return {
    source: 's', resource: { 'device.id': `d${i}` }, scope: { name: 't', version: '0' }, receivedMs: i, logs: [],
    metrics: Points.of([{ name: 'm', unit: '1', description: '', kind: 'gauge', int: true, value: i, timeMs: 1000 + i, startTimeMs: 1000 + i, attributes: {} }]),
  };
}

const damage = fc.record({
  records: fc.integer({ min: 1, max: 60 }),
  acked: fc.integer({ min: 0, max: 60 }),
  hits: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 200 }), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
  tear: fc.integer({ min: 0, max: 40 }),
  // The ack file: kept, replaced by garbage, a byte of it flipped, or a position with a wrong checksum
  // or past the data (the `{"seg":99}` of issue 11).
  ack: fc.option(
    fc.oneof(
      fc.string({ maxLength: 30 }).map((text) => ({ text })),
      fc.record({ at: fc.integer({ min: 0, max: 63 }), xor: fc.integer({ min: 1, max: 255 }) }).map((flip) => ({ flip })),
      fc.record({ seg: fc.integer({ min: -2, max: 120 }), off: fc.integer({ min: -5, max: 100_000 }), crc: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }).map((a) => ({ text: JSON.stringify(a) })),
      fc.integer({ min: 50, max: 1000 }).map((seg) => ({ text: JSON.stringify({ seg }) })),
    ),
    { nil: undefined },
  ),
});

describe('disk buffer recovery under random damage', () => {
  it('always opens, counts what it skipped, and returns every intact unacknowledged record, in order', () => {
    fc.assert(
      fc.property(damage, ({ records, acked, hits, tear, ack }) => {
        const dir = mkdtempSync(join(tmpdir(), 'ws2otel-fuzz-'));
        try {
          const a = new DiskBuffer({ dir, maxEvents: 10_000, maxBytes: 1 << 30, segmentBytes: 2048, fsync: 1000, log: silentLog });
          for (let i = 0; i < records; i++) a.push(itemOf(env(i)));
          const ackedN = Math.min(acked, records);
          if (ackedN > 0) {
            a.take(ackedN);
            a.ack();
          }
          a.close();
          // Where each unacknowledged record lies, to tell afterwards which ones the damage touched.
          const segs = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
          const where: { seg: string; from: number; to: number; id: number }[] = [];
          let next = 0;
          for (const s of segs) {
            const d = readFileSync(join(dir, s));
            for (let off = 0; off + 8 <= d.length; ) {
              const len = d.readUInt32LE(off);
              const id = (JSON.parse(d.subarray(off + 8 + 9, off + 8 + len).toString()) as { metrics: MetricPoint[] }).metrics[0]!.value; // after the format byte and arrival time
              where.push({ seg: s, from: off, to: off + 8 + len, id });
              off += 8 + len;
              next = id + 1;
            }
          }
          if (ackedN < records) assert.equal(next, records, "every unacknowledged record is on disk");
          const touched = new Set<number>();
          for (const s of segs) {
            const p = join(dir, s);
            let d = readFileSync(p);
            for (const h of hits) {
              const at = Math.floor(h.at * d.length);
              const end = Math.min(d.length, at + h.len);
              d.fill(h.byte, at, end);
              for (const r of where) if (r.seg === s && r.from < end && at < r.to) touched.add(r.id);
            }
            if (s === segs[segs.length - 1] && tear > 0 && d.length > 0) {
              const cut = Math.max(0, d.length - tear);
              for (const r of where) if (r.seg === s && r.to > cut) touched.add(r.id);
              d = d.subarray(0, cut);
            }
            writeFileSync(p, d);
          }
          const ackPath = join(dir, 'ack.json');
          const before = readFileSync(ackPath);
          if (ack && 'text' in ack) writeFileSync(ackPath, ack.text);
          if (ack && 'flip' in ack) {
            const d = Buffer.from(before);
            d[ack.flip.at % d.length]! ^= ack.flip.xor;
            writeFileSync(ackPath, d);
          }
          const ackDamaged = !readFileSync(ackPath).equals(before);
          let skippedBytes = 0;
          const b = new DiskBuffer({ dir, maxEvents: 10_000, maxBytes: 1 << 30, segmentBytes: 2048, fsync: 1000, log: silentLog, onTruncate: (n) => (skippedBytes += n) });
          const got = b.take(10_000).map((e) => envelopeOf(e).metrics.at(0).value);
          b.close();
          assert.deepEqual(got, [...got].sort((x, y) => x - y), 'in order');
          // Intact and unacknowledged: must come back (a damaged ack file may bring back more, never fewer).
          for (let id = ackedN; id < records; id++) if (!touched.has(id)) assert.ok(got.includes(id), `record ${id} was intact and is lost`);
          if (!ackDamaged) for (const id of got) assert.ok(id >= ackedN, `acknowledged record ${id} came back with a good ack file`);
          if (touched.size > 0 && hits.length + tear > 0) {
            const lostUnacked = [...touched].filter((id) => id >= ackedN && !got.includes(id));
            if (lostUnacked.length > 0) assert.ok(skippedBytes > 0, `records ${lostUnacked.join(',')} lost without a count`);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 200 },
    );
  });
});
