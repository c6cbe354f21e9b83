import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Points, type Envelope, type MetricPoint } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { BufferFullError, type Item, type ItemBuffer } from './buffer.js';

// An append-only, segmented log of encoded items, one per sink, in the data dir. A record is
// [u32le payload length][u32le CRC32 of payload][payload]; the payload's first byte is its format:
// 2 (this version): [0x02][f64le receivedMs][the item's bytes, as the sink's encoder wrote them];
// 1 (ws2otel before encode-once): the envelope as JSON, so it begins with `{`. Format-1 records left by
// an older ws2otel are migrated explicitly as they are read: decoded and passed through `upgrade` (the
// sink's encoder), never taken for bytes; without `upgrade`, such a directory is refused at open.
// Any other first byte is damage, counted and skipped. `ack.json` holds the
// position of the first record not yet confirmed by the sink; segments wholly before it are deleted.
// Each push is written to the file at once (in the page cache: it survives a crash of the process);
// `fsync` decides how often it is forced to the device (power loss). On open, what was not
// acknowledged is replayed. A damaged region is found by its CRC and skipped: the reader
// resynchronises on the next whole record (as Vector's and Fluent Bit's readers do) and counts the
// bytes skipped; only a torn tail with no whole record after it is cut off. An ack file that does not
// point at a record boundary of a segment on disk is logged and ignored: replay, never delete.

const HEADER = 8;
const ACK_BYTES = 64;
const SEG_RE = /^(\d{16})\.log$/;
/** A length above this is damage, not a record (an envelope is far smaller). */
const MAX_RECORD = 1 << 30;
/** The payload's first byte: its format. */
export const FORMAT_ITEM = 0x02;
const FORMAT_JSON = 0x7b; // `{`: format 1, an envelope as JSON
const ITEM_HEADER = 9;

export type FsyncPolicy = 'always' | number;

export interface DiskBufferOptions {
  dir: string;
  maxEvents: number;
  maxBytes: number;
  segmentBytes?: number;
  fsync: FsyncPolicy;
  log: Logger;
  /** Called for each damaged region found on open (skipped, or cut off at the tail), with its bytes. */
  onTruncate?: (bytes: number) => void;
  /**
   * Re-encodes an envelope found in a format-1 record (an older ws2otel's buffer). Throwing rejects
   * that envelope (logged, counted by onTruncate's caller as a skipped record).
   */
  upgrade?: (env: Envelope) => Item;
}

/** A disk buffer directory this version cannot read as it is (format-1 records and no upgrade). */
export class BufferFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BufferFormatError';
  }
}

interface Pos {
  seg: number;
  off: number;
}

interface Segment {
  id: number;
  size: number;
  /** Damaged regions found on open: start → end (exclusive); the reader jumps over them. */
  skips?: Map<number, number>;
}

interface Scan {
  /** Where whole data ends: a torn tail after it is cut off. */
  end: number;
  fileSize: number;
  skips: Map<number, number>;
  /** Record starts, and `end`: the only places an ack may point. */
  boundaries: Set<number>;
  /** Offset and length of each whole record. */
  records: [number, number][];
  /** Each record's format byte, by offset. */
  formats: Map<number, number>;
}

/** The ack file's checksum: a bit flip that still parses as a position is noticed. */
const ackCrc = (p: Pos) => crc32(`${p.seg}:${p.off}`);

const segName = (id: number) => `${String(id).padStart(16, '0')}.log`;

export class DiskBuffer implements ItemBuffer {
  private segments: Segment[] = [];
  private ackPos: Pos = { seg: 1, off: 0 };
  private readPos: Pos = { seg: 1, off: 0 };
  private inFlight = 0;
  private inFlightBytes = 0;
  private writeFd = -1;
  private readFds = new Map<number, number>();
  private dirty = false;
  /** After a failed write, start a new segment, so the acknowledged part of the old one can be deleted. */
  private rollPending = false;
  private ackFd = -1;
  private timer: NodeJS.Timeout | undefined;
  private readonly header = Buffer.alloc(HEADER);
  private readonly segmentBytes: number;
  size = 0;
  bytes = 0;
  /** Records found on open, to be replayed. */
  readonly replayed: number;
  /** Of those, records in format 1 (JSON envelopes), re-encoded as they are read. */
  readonly migrating: number = 0;

  constructor(private readonly opts: DiskBufferOptions) {
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    mkdirSync(opts.dir, { recursive: true });
    this.recover();
    this.replayed = this.size;
    this.readPos = { ...this.ackPos };
    this.openWriter();
    this.persistAck(); // allocate the ack file now, while there is room
    if (typeof opts.fsync === 'number' && opts.fsync > 0) {
      this.timer = setInterval(() => this.sync(), opts.fsync);
      this.timer.unref();
    }
  }

  get full(): boolean {
    return this.size >= this.opts.maxEvents || this.bytes >= this.opts.maxBytes;
  }

  get pending(): number {
    return this.size - this.inFlight;
  }

  private path(id: number): string {
    return join(this.opts.dir, segName(id));
  }

  /** The length of the whole record at `off`, or -1. */
  private static recordAt(data: Buffer, off: number): number {
    if (data.length - off < HEADER) return -1;
    const len = data.readUInt32LE(off);
    if (len < 2 || len > MAX_RECORD || off + HEADER + len > data.length) return -1;
    return crc32(data.subarray(off + HEADER, off + HEADER + len)) === data.readUInt32LE(off + 4) ? len : -1;
  }

  private scan(id: number, data: Buffer): Scan {
    const out: Scan = { end: 0, fileSize: data.length, skips: new Map(), boundaries: new Set([0]), records: [], formats: new Map() };
    let off = 0;
    while (off < data.length) {
      const len = DiskBuffer.recordAt(data, off);
      if (len >= 0) {
        out.records.push([off, len]);
        out.formats.set(off, data[off + HEADER]!);
        off += HEADER + len;
        out.boundaries.add(off);
        continue;
      }
      let next = off + 1;
      while (next < data.length && DiskBuffer.recordAt(data, next) < 0) next++;
      const bytes = next - off;
      this.opts.log.error({ segment: segName(id), offset: off, bytes, action: next < data.length ? 'skipped' : 'cut off' }, 'disk buffer: torn or corrupt data; resuming at the next whole record');
      this.opts.onTruncate?.(bytes);
      if (next >= data.length) break;
      out.skips.set(off, next);
      out.boundaries.add(next);
      off = next;
    }
    out.end = off;
    out.boundaries.add(off);
    return out;
  }

  private recover(): void {
    const files = readdirSync(this.opts.dir);
    const ids = files.map((f) => SEG_RE.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    let ack: Pos | undefined;
    let damage = '';
    if (files.includes('ack.json')) {
      const text = readFileSync(join(this.opts.dir, 'ack.json'), 'utf8');
      try {
        const a = JSON.parse(text) as (Partial<Pos> & { crc?: unknown }) | null;
        if (!a || !Number.isSafeInteger(a.seg) || !Number.isSafeInteger(a.off) || a.seg! < 0 || a.off! < 0) damage = 'not a position';
        // An ack file without a checksum comes from an older ws2otel and is trusted as before.
        else if (a.crc !== undefined && a.crc !== ackCrc(a as Pos)) damage = 'checksum mismatch';
        else ack = { seg: a.seg!, off: a.off! };
      } catch {
        damage = 'not JSON';
      }
      if (damage) damage += `: ${JSON.stringify(text.slice(0, 80).trim())}`;
    } else if (ids.length) {
      damage = 'missing';
    }
    const scans = new Map(ids.map((id) => [id, this.scan(id, readFileSync(this.path(id)))]));
    if (ack && ids.length && ack.seg >= ids[0]!) {
      const at = scans.get(ack.seg);
      if (!at) damage = `points at segment ${ack.seg}, which is not on disk (${ids.length} segments from ${ids[0]})`;
      else if (!at.boundaries.has(ack.off)) {
        // Into a damaged region (already counted): resume where the region starts, the reader jumps it.
        const region = [...at.skips].find(([from, to]) => from < ack!.off && ack!.off < to);
        if (region) ack.off = region[0];
        else if (ack.off > at.end && ack.off <= at.fileSize) ack.off = at.end; // into the torn tail that was cut off
        else damage = `points at offset ${ack.off} of segment ${ack.seg}, which is not a record boundary`;
      }
    }
    if (damage) {
      this.opts.log.error({ file: join(this.opts.dir, 'ack.json'), why: damage }, 'disk buffer: the ack file is damaged; replaying every segment (duplicates possible, nothing dropped)');
      ack = undefined;
    }
    this.ackPos = ack && (!ids.length || ack.seg >= ids[0]!) ? ack : { seg: ids[0] ?? ack?.seg ?? 1, off: 0 };
    for (const id of ids) {
      if (id < this.ackPos.seg) {
        rmSync(this.path(id), { force: true }); // acknowledged: its deletion was interrupted
        continue;
      }
      const sc = scans.get(id)!;
      const size = statSync(this.path(id)).size;
      if (sc.end < size) {
        const fd = openSync(this.path(id), 'r+');
        ftruncateSync(fd, sc.end);
        fsyncSync(fd);
        closeSync(fd);
      }
      const from = id === this.ackPos.seg ? this.ackPos.off : 0;
      for (const [off, len] of sc.records) {
        if (off < from) continue;
        this.size++;
        this.bytes += HEADER + len;
        if (sc.formats.get(off) === FORMAT_JSON) (this as { migrating: number }).migrating++;
      }
      this.segments.push({ id, size: sc.end, ...(sc.skips.size ? { skips: sc.skips } : {}) });
    }
    if (this.segments.length === 0) this.segments.push({ id: this.ackPos.seg, size: 0 });
    if (this.migrating > 0) {
      if (!this.opts.upgrade) {
        throw new BufferFormatError(`disk buffer ${this.opts.dir}: ${this.migrating} record(s) in format 1 (JSON envelopes, from a ws2otel before 0.2) and no encoder to migrate them`);
      }
      this.opts.log.warn({ dir: this.opts.dir, records: this.migrating }, 'disk buffer: records in format 1 (JSON envelopes) from an older ws2otel; each is re-encoded for this sink as it is sent');
    }
    if (this.size > 0) this.opts.log.info({ events: this.size, bytes: this.bytes }, 'disk buffer: replaying unacknowledged events');
  }

  private openWriter(): void {
    const last = this.segments[this.segments.length - 1]!;
    this.writeFd = openSync(this.path(last.id), 'a');
  }

  /** Starts a new write segment; throws (and changes nothing) when the file cannot be created. */
  private roll(): void {
    const id = this.segments[this.segments.length - 1]!.id + 1;
    const fd = openSync(this.path(id), 'a');
    this.sync();
    closeSync(this.writeFd);
    this.segments.push({ id, size: 0 });
    this.writeFd = fd;
  }

  push(item: Item): void {
    // One record buffer: frame header, format header, then the item's bytes as they are.
    const len = ITEM_HEADER + item.bytes.length;
    const rec = Buffer.allocUnsafe(HEADER + len);
    rec[HEADER] = FORMAT_ITEM;
    rec.writeDoubleLE(item.receivedMs, HEADER + 1);
    rec.set(item.bytes, HEADER + ITEM_HEADER);
    const payload = rec.subarray(HEADER);
    rec.writeUInt32LE(len, 0);
    rec.writeUInt32LE(crc32(payload), 4);
    let seg = this.segments[this.segments.length - 1]!;
    if (seg.size > 0 && (this.rollPending || seg.size + HEADER + payload.length > this.segmentBytes)) {
      try {
        this.roll();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        throw new BufferFullError(`disk buffer: cannot start a segment: ${code}`, code);
      }
      this.rollPending = false;
      seg = this.segments[this.segments.length - 1]!;
    }
    let written = 0;
    try {
      written = writeSync(this.writeFd, rec);
    } catch (err) {
      this.cutTo(seg.size);
      this.rollPending = true;
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new BufferFullError(`disk buffer write failed: ${code}`, code);
    }
    if (written !== rec.length) {
      this.cutTo(seg.size);
      this.rollPending = true;
      throw new BufferFullError('disk buffer: short write (disk full?)', 'ENOSPC');
    }
    seg.size += rec.length;
    this.size++;
    this.bytes += rec.length;
    if (this.opts.fsync === 'always') fdatasyncSync(this.writeFd);
    else this.dirty = true;
  }

  /** Undo a partial append so the log never holds half a record written by us. */
  private cutTo(size: number): void {
    try {
      ftruncateSync(this.writeFd, size);
    } catch {
      // If even that fails, the CRC check cuts it off on the next open.
    }
  }

  dropOldest(): boolean {
    return false; // an append-only log drops nothing from its middle: use block or drop_newest
  }

  private readFd(id: number): number {
    let fd = this.readFds.get(id);
    if (fd === undefined) this.readFds.set(id, (fd = openSync(this.path(id), 'r')));
    return fd;
  }

  take(max: number): Item[] {
    const out: Item[] = [];
    while (out.length < max && this.inFlight < this.size) {
      const si = this.segments.findIndex((s) => s.id === this.readPos.seg);
      const seg = this.segments[si];
      if (!seg) break;
      if (this.readPos.off >= seg.size) {
        const next = this.segments[si + 1];
        if (!next) break;
        this.readPos = { seg: next.id, off: 0 };
        continue;
      }
      const skipTo = seg.skips?.get(this.readPos.off);
      if (skipTo !== undefined) {
        this.readPos = { seg: seg.id, off: skipTo };
        continue;
      }
      const fd = this.readFd(seg.id);
      readSync(fd, this.header, 0, HEADER, this.readPos.off);
      const len = this.header.readUInt32LE(0);
      const payload = Buffer.allocUnsafe(len);
      readSync(fd, payload, 0, len, this.readPos.off + HEADER);
      const item = this.decode(payload, seg.id);
      if (item) out.push(item);
      else {
        // Damage whose CRC matched by chance (1 in 2^32), or a format-1 envelope the encoder refuses:
        // leaves with this batch, counted, not sent.
        this.opts.onTruncate?.(HEADER + len);
      }
      this.readPos = { seg: seg.id, off: this.readPos.off + HEADER + len };
      this.inFlight++;
      this.inFlightBytes += HEADER + len;
    }
    return out;
  }

  /** A record's payload as an item, by its format byte; undefined (logged) when it is not one. */
  private decode(payload: Buffer, seg: number): Item | undefined {
    const at = { segment: segName(seg), offset: this.readPos.off, bytes: HEADER + payload.length };
    if (payload[0] === FORMAT_ITEM && payload.length >= ITEM_HEADER) {
      return { receivedMs: payload.readDoubleLE(1), bytes: payload.subarray(ITEM_HEADER) };
    }
    if (payload[0] === FORMAT_JSON && this.opts.upgrade) {
      let env: Omit<Envelope, 'metrics'> & { metrics: MetricPoint[] };
      try {
        env = JSON.parse(payload.toString('utf8')) as typeof env;
      } catch {
        this.opts.log.error(at, 'disk buffer: a format-1 record passed its CRC but is not JSON; skipped');
        return undefined;
      }
      try {
        return this.opts.upgrade({ ...env, metrics: Points.of(env.metrics) });
      } catch (err) {
        this.opts.log.error({ ...at, err: String(err) }, 'disk buffer: a format-1 envelope cannot be encoded for this sink; skipped');
        return undefined;
      }
    }
    this.opts.log.error({ ...at, format: payload[0] }, 'disk buffer: a record passed its CRC but is not in a known format; skipped');
    return undefined;
  }

  ack(): void {
    if (this.inFlight === 0) return;
    this.size -= this.inFlight;
    this.bytes -= this.inFlightBytes;
    this.inFlight = 0;
    this.inFlightBytes = 0;
    this.ackPos = { ...this.readPos };
    // The end of a segment is the start of the next: an ack there lets the segment go.
    for (let i = this.segments.findIndex((s) => s.id === this.ackPos.seg); i >= 0 && i < this.segments.length - 1 && this.ackPos.off >= this.segments[i]!.size; i++) {
      this.ackPos = { seg: this.segments[i + 1]!.id, off: 0 };
    }
    // Everything confirmed: start a fresh segment so the old one's space is given back now, not
    // only when it would have filled up (a small disk may never let it).
    if (this.size === 0) {
      if (this.segments[this.segments.length - 1]!.size > 0) {
        try {
          this.roll();
          this.rollPending = false;
        } catch (err) {
          this.opts.log.error({ err: String(err) }, 'disk buffer: cannot start a new segment; the acknowledged one stays until the next ack');
        }
      }
      const last = this.segments[this.segments.length - 1]!;
      if (last.size === 0) this.ackPos = { seg: last.id, off: 0 };
    }
    this.readPos = { ...this.ackPos };
    this.persistAck();
    // Segments wholly before the ack position are done; the write segment always stays.
    while (this.segments.length > 1 && this.segments[0]!.id < this.ackPos.seg) {
      const s = this.segments.shift()!;
      const fd = this.readFds.get(s.id);
      if (fd !== undefined) closeSync(fd);
      this.readFds.delete(s.id);
      rmSync(this.path(s.id), { force: true });
    }
  }

  unTake(): void {
    this.readPos = { ...this.ackPos };
    this.inFlight = 0;
    this.inFlightBytes = 0;
  }

  /**
   * The ack position is rewritten in place in a fixed-size file: overwriting allocated bytes needs no
   * free space, so acknowledging (which is what frees the disk) still works when the disk is full.
   * An unreadable ack file means replay from the oldest segment: duplicates, never loss.
   */
  private persistAck(): void {
    const { seg, off } = this.ackPos;
    const text = JSON.stringify({ seg, off, crc: ackCrc(this.ackPos) }).padEnd(ACK_BYTES - 1, ' ') + '\n';
    try {
      if (this.ackFd < 0) {
        const path = join(this.opts.dir, 'ack.json');
        this.ackFd = openSync(path, existsSync(path) ? 'r+' : 'w+');
      }
      writeSync(this.ackFd, text, 0, 'utf8');
      if (this.opts.fsync === 'always') fdatasyncSync(this.ackFd);
    } catch (err) {
      this.opts.log.error({ err: String(err) }, 'disk buffer: cannot record the ack position; a restart will resend some events');
    }
  }

  private sync(): void {
    if (!this.dirty || this.writeFd < 0) return;
    this.dirty = false;
    try {
      fdatasyncSync(this.writeFd);
    } catch (err) {
      this.opts.log.error({ err: String(err) }, 'disk buffer: fsync failed');
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.sync();
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = -1;
    if (this.ackFd >= 0) {
      if (this.opts.fsync !== 'always') fdatasyncSync(this.ackFd);
      closeSync(this.ackFd);
    }
    this.ackFd = -1;
    for (const fd of this.readFds.values()) closeSync(fd);
    this.readFds.clear();
  }
}
