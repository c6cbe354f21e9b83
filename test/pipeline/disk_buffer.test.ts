import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferFormatError, DiskBuffer, FORMAT_ITEM, type DiskBufferOptions } from '../../src/pipeline/disk_buffer.js';
import { otlpCodec } from '../../src/encoding/otlp.js';
import { crc32 } from 'node:zlib';
import { BufferFullError, type Item } from '../../src/pipeline/buffer.js';
import { Points, type Envelope } from '../../src/model.js';
import { MistMapping } from '../../src/sources/mist/mapping.js';
import { deviceStats } from '../../src/simulators/mist.js';
import { envelopeOf, itemOf, silentLog } from '../helpers/capture.js';
import { onSmallTmpfs } from '../helpers/tmpfs.js';
import { pino } from 'pino';
import type { Logger } from '../../src/telemetry/logger.js';
import { Writable } from 'node:stream';

/** A logger whose lines the test can read. */
function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  return { log, lines };
}

function env(i: number): Envelope {
  return {
    source: 's', resource: { 'device.id': `d${i}` }, scope: { name: 't', version: '0' }, receivedMs: i, logs: [],
    metrics: Points.of([{ name: 'm', unit: '1', description: '', kind: 'gauge', int: true, value: i, timeMs: 1000 + i, startTimeMs: 1000 + i, attributes: {} }]),
  };
}

/** The envelope as the buffer holds it (see itemOf). */
const item = (i: number): Item => itemOf(env(i));

function open(dir: string, over: Partial<DiskBufferOptions> = {}): DiskBuffer {
  return new DiskBuffer({ dir, maxEvents: 1000, maxBytes: 64 * 1024 * 1024, fsync: 'always', log: silentLog, ...over });
}

const ids = (batch: Item[]) => batch.map((e) => envelopeOf(e).metrics.at(0).value);
const fresh = () => mkdtempSync(join(tmpdir(), 'ws2otel-disk-'));

describe('disk buffer', () => {
  it('replays, in order, everything not acknowledged after a reopen', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 10; i++) a.push(item(i));
    assert.deepEqual(ids(a.take(4)), [0, 1, 2, 3]);
    a.ack();
    assert.deepEqual(ids(a.take(3)), [4, 5, 6]); // in flight, never acked: must come back
    a.close();
    const b = open(dir);
    assert.equal(b.replayed, 6);
    assert.equal(b.size, 6);
    assert.deepEqual(ids(b.take(100)), [4, 5, 6, 7, 8, 9]);
    b.close();
  });

  it('deletes segments once every record in them is acknowledged', () => {
    const dir = fresh();
    const a = open(dir, { segmentBytes: 600 });
    for (let i = 0; i < 30; i++) a.push(item(i));
    const segsBefore = readdirSync(dir).filter((f) => f.endsWith('.log')).length;
    assert.ok(segsBefore > 3, `${segsBefore} segments`);
    assert.equal(a.take(25).length, 25);
    a.ack();
    const segsAfter = readdirSync(dir).filter((f) => f.endsWith('.log')).length;
    assert.ok(segsAfter < segsBefore && segsAfter >= 1);
    assert.deepEqual(ids(a.take(100)), [25, 26, 27, 28, 29]);
    a.ack();
    assert.equal(a.size, 0);
    assert.equal(a.bytes, 0);
    a.close();
    assert.equal(open(dir).size, 0);
  });

  it('cuts off a torn tail left by a crash, counts it, and keeps every whole record', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 5; i++) a.push(item(i));
    a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.log'))!;
    const whole = readFileSync(join(dir, seg)).length;
    appendFileSync(join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 123, 34])); // header promises 200 bytes, 2 follow
    let cut = 0;
    const b = open(dir, { onTruncate: (bytes) => (cut += bytes) });
    assert.equal(cut, 10);
    assert.equal(readFileSync(join(dir, seg)).length, whole);
    assert.deepEqual(ids(b.take(100)), [0, 1, 2, 3, 4]);
    b.push(item(5)); // appends after the cut, not after the garbage
    b.close();
    assert.deepEqual(ids(open(dir).take(100)), [0, 1, 2, 3, 4, 5]);
  });

  it('detects a corrupt record by its CRC and skips that record alone', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 4; i++) a.push(item(i));
    a.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!);
    const data = readFileSync(seg);
    const secondStart = 8 + data.readUInt32LE(0);
    data[secondStart + 8 + 5] ^= 0xff; // flip a byte inside the second record's payload
    writeFileSync(seg, data);
    let truncations = 0;
    const b = open(dir, { onTruncate: () => truncations++ });
    assert.equal(truncations, 1);
    assert.deepEqual(ids(b.take(100)), [0, 2, 3]);
    b.close();
  });

  it('is full at max_events or max_bytes', () => {
    const byCount = open(fresh(), { maxEvents: 3 });
    for (let i = 0; i < 3; i++) byCount.push(item(i));
    assert.equal(byCount.full, true);
    byCount.take(1);
    byCount.ack();
    assert.equal(byCount.full, false);
    const byBytes = open(fresh(), { maxBytes: 500 });
    while (!byBytes.full) byBytes.push(item(1));
    assert.ok(byBytes.bytes >= 500 && byBytes.size >= 2);
  });

  it('gives an abandoned batch back on the next take', () => {
    const a = open(fresh());
    for (let i = 0; i < 3; i++) a.push(item(i));
    assert.deepEqual(ids(a.take(2)), [0, 1]);
    a.unTake();
    assert.deepEqual(ids(a.take(5)), [0, 1, 2]);
  });

  it('refuses with a clear error when the disk is full, leaving no half record behind', (t) =>
    onSmallTmpfs(t, async (mnt) => {
      const dir = join(mnt, 'buf');
      mkdirSync(dir);
      const a = open(dir);
      let accepted = 0;
      let error: unknown;
      for (let i = 0; i < 10_000 && !error; i++) {
        try {
          a.push(item(i));
          accepted++;
        } catch (err) {
          error = err;
        }
      }
      assert.ok(error instanceof BufferFullError, String(error));
      assert.equal(error.code, 'ENOSPC');
      a.close();
      const b = open(dir);
      assert.equal(b.size, accepted, 'every accepted record is whole on disk');
      b.close();
    }, '64k'));

  it('resynchronises on the next whole record after 64 damaged bytes mid-segment, counting what it skipped', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 100; i++) a.push(item(i));
    a.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!);
    const data = readFileSync(seg);
    const mid = data.length >> 1;
    data.fill(0x41, mid, mid + 64);
    writeFileSync(seg, data);
    let skipped = 0;
    let regions = 0;
    const b = open(dir, { onTruncate: (bytes) => ((skipped += bytes), regions++) });
    const got = ids(b.take(1000));
    assert.equal(regions, 1, 'one damaged region');
    assert.ok(skipped >= 64, `${skipped} bytes counted as skipped`);
    assert.ok(got.length >= 97, `${got.length} records kept of 100`);
    assert.equal(got[got.length - 1], 99, 'the records after the damage are replayed');
    assert.deepEqual(got, [...got].sort((x, y) => x - y), 'in order');
    b.push(item(100));
    b.close();
    const c = open(dir);
    assert.deepEqual(ids(c.take(1000)), [...got, 100], 'the damage is found again on the next open and skipped the same way');
    c.close();
  });

  for (const [what, ack] of [
    ['points past the data', '{"seg":99,"off":0}'],
    ['is not JSON', '{"seg":1,"o'],
    ['points past the end of its segment', '{"seg":1,"off":99999999}'],
  ] as const) {
    it(`an ack file that ${what} is logged and everything is replayed; no segment is deleted`, () => {
      const dir = fresh();
      const a = open(dir, { segmentBytes: 600 });
      for (let i = 0; i < 20; i++) a.push(item(i));
      a.close();
      const segs = readdirSync(dir).filter((f) => f.endsWith('.log'));
      writeFileSync(join(dir, 'ack.json'), ack);
      const { log, lines } = recordingLog();
      const b = open(dir, { segmentBytes: 600, log });
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.log')).slice(0, segs.length), segs);
      assert.deepEqual(ids(b.take(1000)), Array.from({ length: 20 }, (_, i) => i));
      assert.ok(lines.some((l) => /"level":50/.test(l) && /ack/.test(l)), `an error names the ack file: ${lines.join('')}`);
      b.close();
    });
  }

  it('after the disk filled up, acknowledging everything frees the disk and writes succeed again', (t) =>
    onSmallTmpfs(t, async (mnt) => {
      const dir = join(mnt, 'buf');
      mkdirSync(dir);
      const a = open(dir, { fsync: 1000 }); // one segment larger than the disk, as by default
      let accepted = 0;
      let failures = 0;
      // Fill the disk, then keep trying as the exporter does while its overflow waits.
      for (let i = 0; i < 100_000 && failures < 5; i++) {
        try {
          a.push(item(i));
          accepted++;
        } catch (err) {
          assert.ok(err instanceof BufferFullError);
          failures++;
        }
      }
      assert.equal(failures, 5);
      let taken = 0;
      while (a.pending > 0) {
        taken += a.take(500).length;
        a.ack();
      }
      assert.equal(taken, accepted);
      assert.equal(a.size, 0);
      for (let i = 0; i < 100; i++) a.push(item(i)); // room again: the acknowledged segments are gone
      assert.equal(a.size, 100);
      a.close();
    }));

  it("holds the sink's encoded bytes as they are: a record is the format byte, the frame's arrival time and the item's bytes", () => {
    const dir = fresh();
    const now = Date.now();
    const site = '978c48e6-6ef6-11e6-8bbf-02e208b2d34f';
    const mapped = new MistMapping('mist', [], {}, '0.0.0').stats(`/sites/${site}/stats/devices`, deviceStats(0, 0, site, now), now);
    const encoded = itemOf(mapped, otlpCodec('proto'));
    const a = open(dir);
    a.push(encoded);
    a.close();
    const seg = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!));
    assert.equal(seg.readUInt32LE(0), 9 + encoded.bytes.length, 'payload length: format header and the bytes, nothing else');
    assert.equal(seg[8], FORMAT_ITEM);
    assert.equal(seg.readDoubleLE(9), mapped.receivedMs);
    assert.deepEqual(seg.subarray(17), encoded.bytes, 'the bytes the encoder wrote, unchanged');
    const b = open(dir);
    const [back] = b.take(1);
    assert.deepEqual(back!.bytes, encoded.bytes);
    assert.equal(back!.receivedMs, mapped.receivedMs);
    b.close();
  });

  it('counts as its bytes exactly the records it holds on disk, from the ack position', () => {
    const dir = fresh();
    const a = open(dir, { segmentBytes: 600 });
    for (let i = 0; i < 30; i++) a.push(item(i));
    const onDisk = () => readdirSync(dir).filter((f) => f.endsWith('.log')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.equal(a.bytes, onDisk(), 'nothing acknowledged: every byte of every segment');
    const taken = a.take(10);
    a.ack();
    const record = (it: Item) => 8 + 9 + it.bytes.length;
    const left = Array.from({ length: 20 }, (_, i) => record(item(i + 10))).reduce((x, y) => x + y, 0);
    assert.equal(a.bytes, left, 'the unacknowledged records, header and format byte included');
    assert.equal(taken.length, 10);
    a.close();
    assert.equal(open(dir, { segmentBytes: 600 }).bytes, left, 'the same count after a reopen');
  });

  describe('a buffer directory from ws2otel before encode-once (format 1: envelopes as JSON)', () => {
    /** Writes what the previous version wrote: [u32 length][u32 CRC32][the envelope as JSON], and its ack file. */
    function formatOneDir(envs: Envelope[], ackedRecords: number): string {
      const dir = fresh();
      const recs = envs.map((e) => {
        const payload = Buffer.from(JSON.stringify(e));
        const h = Buffer.alloc(8);
        h.writeUInt32LE(payload.length, 0);
        h.writeUInt32LE(crc32(payload), 4);
        return Buffer.concat([h, payload]);
      });
      writeFileSync(join(dir, '0000000000000001.log'), Buffer.concat(recs));
      const off = recs.slice(0, ackedRecords).reduce((n, r) => n + r.length, 0);
      writeFileSync(join(dir, 'ack.json'), JSON.stringify({ seg: 1, off }));
      return dir;
    }

    it('is migrated explicitly: each unacknowledged envelope is re-encoded by the sink as it is read, then new items follow', () => {
      const codec = otlpCodec('proto');
      const envs = Array.from({ length: 6 }, (_, i) => env(i));
      const dir = formatOneDir(envs, 2);
      const { log, lines } = recordingLog();
      const b = open(dir, { log, upgrade: (e) => itemOf(e, codec) });
      assert.equal(b.migrating, 4);
      assert.ok(lines.some((l) => /format 1/.test(l)), 'the migration is logged');
      b.push(itemOf(env(6), codec));
      const got = b.take(100);
      assert.deepEqual(got.map((x) => x.bytes), [2, 3, 4, 5, 6].map((i) => codec.encode(env(i))), 'the old records, re-encoded, then the new one');
      assert.deepEqual(got.map((x) => x.receivedMs), [2, 3, 4, 5, 6]);
      b.ack();
      b.close();
      assert.equal(open(dir, { upgrade: (e) => itemOf(e, codec) }).size, 0, 'acknowledged like any record');
    });

    it('is refused at open, and left as it is, when there is no encoder to migrate it with', () => {
      const dir = formatOneDir([env(0), env(1)], 0);
      const before = readFileSync(join(dir, '0000000000000001.log'));
      assert.throws(() => open(dir), (err: Error) => err instanceof BufferFormatError && /2 record\(s\) in format 1/.test(err.message));
      assert.deepEqual(readFileSync(join(dir, '0000000000000001.log')), before);
    });
  });
});
