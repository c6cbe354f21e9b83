import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBuffer, type DiskBufferOptions } from '../../src/pipeline/disk_buffer.js';
import { BufferFullError } from '../../src/pipeline/buffer.js';
import type { Envelope } from '../../src/model.js';
import { MistMapping } from '../../src/sources/mist/mapping.js';
import { deviceStats } from '../../src/simulators/mist.js';
import { silentLog } from '../helpers/capture.js';
import { pino } from 'pino';
import type { Logger } from '../../src/telemetry/logger.js';
import { Writable } from 'node:stream';

/** A logger whose lines the test can read. */
function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  return { log, lines };
}

function withTmpfs(t: { skip: (m: string) => void }, size: string, fn: (mnt: string) => void | Promise<void>): void | Promise<void> {
  const mnt = fresh();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('mounting a small tmpfs needs root (CI runs as root)');
    return;
  }
  const done = () => execFileSync('umount', ['-l', mnt]); // lazy: a failed test may leave a file open
  try {
    const r = fn(mnt);
    if (r instanceof Promise) return r.finally(done);
    done();
  } catch (err) {
    done();
    throw err;
  }
}

function env(i: number): Envelope {
  return {
    source: 's', resource: { 'device.id': `d${i}` }, scope: { name: 't', version: '0' }, receivedMs: i, logs: [],
    metrics: [{ name: 'm', unit: '1', description: '', kind: 'gauge', int: true, value: i, timeMs: 1000 + i, startTimeMs: 1000 + i, attributes: {} }],
  };
}

function open(dir: string, over: Partial<DiskBufferOptions> = {}): DiskBuffer {
  return new DiskBuffer({ dir, maxEvents: 1000, maxBytes: 64 * 1024 * 1024, fsync: 'always', log: silentLog, ...over });
}

const ids = (batch: Envelope[]) => batch.map((e) => e.metrics[0]!.value);
const fresh = () => mkdtempSync(join(tmpdir(), 'ws2otel-disk-'));

describe('disk buffer', () => {
  it('replays, in order, everything not acknowledged after a reopen', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 10; i++) a.push(env(i));
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
    for (let i = 0; i < 30; i++) a.push(env(i));
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
    for (let i = 0; i < 5; i++) a.push(env(i));
    a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.log'))!;
    const whole = readFileSync(join(dir, seg)).length;
    appendFileSync(join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 123, 34])); // header promises 200 bytes, 2 follow
    let cut = 0;
    const b = open(dir, { onTruncate: (bytes) => (cut += bytes) });
    assert.equal(cut, 10);
    assert.equal(readFileSync(join(dir, seg)).length, whole);
    assert.deepEqual(ids(b.take(100)), [0, 1, 2, 3, 4]);
    b.push(env(5)); // appends after the cut, not after the garbage
    b.close();
    assert.deepEqual(ids(open(dir).take(100)), [0, 1, 2, 3, 4, 5]);
  });

  it('detects a corrupt record by its CRC and skips that record alone', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 4; i++) a.push(env(i));
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
    for (let i = 0; i < 3; i++) byCount.push(env(i));
    assert.equal(byCount.full, true);
    byCount.take(1);
    byCount.ack();
    assert.equal(byCount.full, false);
    const byBytes = open(fresh(), { maxBytes: 500 });
    while (!byBytes.full) byBytes.push(env(1));
    assert.ok(byBytes.bytes >= 500 && byBytes.size >= 2);
  });

  it('gives an abandoned batch back on the next take', () => {
    const a = open(fresh());
    for (let i = 0; i < 3; i++) a.push(env(i));
    assert.deepEqual(ids(a.take(2)), [0, 1]);
    a.unTake();
    assert.deepEqual(ids(a.take(5)), [0, 1, 2]);
  });

  it('refuses with a clear error when the disk is full, leaving no half record behind', (t) => {
    const mnt = fresh();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      t.skip('mounting a small tmpfs needs root (CI runs as root)');
      return;
    }
    try {
      const dir = join(mnt, 'buf');
      mkdirSync(dir);
      const a = open(dir);
      let accepted = 0;
      let error: unknown;
      for (let i = 0; i < 10_000 && !error; i++) {
        try {
          a.push(env(i));
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
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('resynchronises on the next whole record after 64 damaged bytes mid-segment, counting what it skipped', () => {
    const dir = fresh();
    const a = open(dir);
    for (let i = 0; i < 100; i++) a.push(env(i));
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
    b.push(env(100));
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
      for (let i = 0; i < 20; i++) a.push(env(i));
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
    withTmpfs(t, '256k', (mnt) => {
      const dir = join(mnt, 'buf');
      mkdirSync(dir);
      const a = open(dir, { fsync: 1000 }); // one segment larger than the disk, as by default
      let accepted = 0;
      let failures = 0;
      // Fill the disk, then keep trying as the exporter does while its overflow waits.
      for (let i = 0; i < 100_000 && failures < 5; i++) {
        try {
          a.push(env(i));
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
      for (let i = 0; i < 100; i++) a.push(env(i)); // room again: the acknowledged segments are gone
      assert.equal(a.size, 100);
      a.close();
    }));

  it('persists what a mapping produced and nothing of an encoder: a record parses back to the same envelope', () => {
    const dir = fresh();
    const now = Date.now();
    const site = '978c48e6-6ef6-11e6-8bbf-02e208b2d34f';
    const mapped = new MistMapping('mist', [], {}, '0.0.0').stats(`/sites/${site}/stats/devices`, deviceStats(0, 0, site, now), now);
    const a = open(dir);
    a.push(mapped);
    a.close();
    const seg = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!));
    const onDisk = JSON.parse(seg.subarray(8).toString()) as Envelope;
    assert.ok(mapped.metrics.length > 10);
    for (const p of onDisk.metrics) assert.deepEqual(Object.keys(p).sort(), ['attributes', 'description', 'int', 'kind', 'name', 'startTimeMs', 'timeMs', 'unit', 'value']);
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(mapped)));
  });
});
