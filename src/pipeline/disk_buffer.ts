import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { BufferFullError, type EnvelopeBuffer } from './buffer.js';

// An append-only, segmented log of envelopes, one per sink, in the data dir. A record is
// [u32le payload length][u32le CRC32 of payload][payload: the envelope as JSON]. `ack.json` holds the
// position of the first record not yet confirmed by the sink; segments wholly before it are deleted.
// Each push is written to the file at once (in the page cache: it survives a crash of the process);
// `fsync` decides how often it is forced to the device (power loss). On open, what was not
// acknowledged is replayed, and a torn or corrupt record is found by its CRC and cut off.

const HEADER = 8;
const ACK_BYTES = 64;
const SEG_RE = /^(\d{16})\.log$/;

export type FsyncPolicy = 'always' | number;

export interface DiskBufferOptions {
  dir: string;
  maxEvents: number;
  maxBytes: number;
  segmentBytes?: number;
  fsync: FsyncPolicy;
  log: Logger;
  /** Called for each torn or corrupt record found on open, with the bytes cut off. */
  onTruncate?: (bytes: number) => void;
}

interface Pos {
  seg: number;
  off: number;
}

interface Segment {
  id: number;
  size: number;
}

const segName = (id: number) => `${String(id).padStart(16, '0')}.log`;

export class DiskBuffer implements EnvelopeBuffer {
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

  private recover(): void {
    try {
      const a = JSON.parse(readFileSync(join(this.opts.dir, 'ack.json'), 'utf8')) as Pos;
      if (Number.isInteger(a.seg) && Number.isInteger(a.off)) this.ackPos = a;
    } catch {
      // No ack file: nothing was ever acknowledged.
    }
    const files = readdirSync(this.opts.dir);
    const ids = files.map((f) => SEG_RE.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    if (ids.length && !files.includes('ack.json')) this.ackPos = { seg: ids[0]!, off: 0 };
    for (const id of ids) {
      if (id < this.ackPos.seg) {
        rmSync(this.path(id), { force: true });
        continue;
      }
      const data = readFileSync(this.path(id));
      let off = id === this.ackPos.seg ? Math.min(this.ackPos.off, data.length) : 0;
      const start = off;
      let records = 0;
      while (off < data.length) {
        const bad = (why: string) => {
          this.opts.log.error({ segment: segName(id), offset: off, bytes: data.length - off, why }, 'disk buffer: torn or corrupt record; truncating');
          this.opts.onTruncate?.(data.length - off);
        };
        if (data.length - off < HEADER) {
          bad('short header');
          break;
        }
        const len = data.readUInt32LE(off);
        const crc = data.readUInt32LE(off + 4);
        if (off + HEADER + len > data.length) {
          bad('short payload');
          break;
        }
        if (crc32(data.subarray(off + HEADER, off + HEADER + len)) !== crc) {
          bad('crc mismatch');
          break;
        }
        off += HEADER + len;
        records++;
      }
      if (off < data.length) {
        const fd = openSync(this.path(id), 'r+');
        ftruncateSync(fd, off);
        fsyncSync(fd);
        closeSync(fd);
      }
      this.segments.push({ id, size: off });
      this.size += records;
      this.bytes += off - start;
    }
    if (this.segments.length === 0) this.segments.push({ id: this.ackPos.seg, size: 0 });
    if (this.ackPos.seg < this.segments[0]!.id) this.ackPos = { seg: this.segments[0]!.id, off: 0 };
    if (this.size > 0) this.opts.log.info({ events: this.size, bytes: this.bytes }, 'disk buffer: replaying unacknowledged events');
  }

  private openWriter(): void {
    const last = this.segments[this.segments.length - 1]!;
    this.writeFd = openSync(this.path(last.id), 'a');
  }

  private roll(): void {
    this.sync();
    closeSync(this.writeFd);
    const id = this.segments[this.segments.length - 1]!.id + 1;
    this.segments.push({ id, size: 0 });
    this.writeFd = openSync(this.path(id), 'a');
  }

  push(env: Envelope): void {
    const payload = Buffer.from(JSON.stringify(env));
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    let seg = this.segments[this.segments.length - 1]!;
    if (seg.size > 0 && (this.rollPending || seg.size + HEADER + payload.length > this.segmentBytes)) {
      this.rollPending = false;
      this.roll();
      seg = this.segments[this.segments.length - 1]!;
    }
    const rec = Buffer.concat([header, payload]);
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

  take(max: number): Envelope[] {
    const out: Envelope[] = [];
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
      const fd = this.readFd(seg.id);
      readSync(fd, this.header, 0, HEADER, this.readPos.off);
      const len = this.header.readUInt32LE(0);
      const payload = Buffer.allocUnsafe(len);
      readSync(fd, payload, 0, len, this.readPos.off + HEADER);
      out.push(JSON.parse(payload.toString('utf8')) as Envelope);
      this.readPos = { seg: seg.id, off: this.readPos.off + HEADER + len };
      this.inFlight++;
      this.inFlightBytes += HEADER + len;
    }
    return out;
  }

  ack(): void {
    if (this.inFlight === 0) return;
    this.size -= this.inFlight;
    this.bytes -= this.inFlightBytes;
    this.inFlight = 0;
    this.inFlightBytes = 0;
    this.ackPos = { ...this.readPos };
    // Everything confirmed: start a fresh segment so the old one's space is given back now, not
    // only when it would have filled up (a small disk may never let it).
    if (this.size === 0 && this.segments[this.segments.length - 1]!.size > 0) {
      this.roll();
      this.ackPos = { seg: this.segments[this.segments.length - 1]!.id, off: 0 };
      this.readPos = { ...this.ackPos };
    }
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
    const text = JSON.stringify(this.ackPos).padEnd(ACK_BYTES - 1, ' ') + '\n';
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
