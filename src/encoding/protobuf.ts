// A small protobuf writer for the few OTLP messages ws2otel writes: one scratch buffer reused for every
// envelope, length-delimited fields backpatched in place, the result copied out once at its exact size.
// Writing straight from an Envelope skips the SDK's data types (hrtime pairs, per-point objects) that the
// official serializer needs as input; tests decode the output with protobufjs and compare it with the
// SDK serializer's.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;

export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  reset(): void {
    this.pos = 0;
    this.room(4);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of a non-negative safe integer. */
  varint(v: number): void {
    this.room(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** Starts a length-delimited field; returns where its content starts (pass it to `end`). */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.room(1);
    this.pos++; // one byte reserved for the length: most nested messages are shorter than 128 bytes
    return this.pos;
  }

  /** Writes the length of the field begun at `start`, moving its content when the length needs more bytes. */
  end(start: number): void {
    const len = this.pos - start;
    if (len < 128) {
      this.buf[start - 1] = len;
      return;
    }
    let extra = 0;
    for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
    this.room(extra);
    this.buf.copyWithin(start + extra, start, this.pos);
    let at = start - 1;
    let v = len;
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
    this.pos += extra;
  }

  string(field: number, s: string): void {
    if (s === '') return; // proto3: the default is not written
    this.tag(field, WIRE_LEN);
    this.stringBody(s);
  }

  /** A string's length and UTF-8 bytes. */
  stringBody(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Names, units and attribute values are mostly short ASCII: copied by hand, which is far cheaper
      // than a call into the UTF-8 encoder per string.
      this.room(1 + n);
      const buf = this.buf;
      const at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = at + n;
        return;
      }
    }
    // At most 3 bytes a UTF-16 unit: short strings fit a one-byte length without measuring them.
    const max = n * 3;
    const len = max < 128 ? -1 : Buffer.byteLength(s);
    if (len < 0) {
      this.room(1 + max);
      const w = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = w;
      this.pos += 1 + w;
      return;
    }
    this.varint(len);
    this.room(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.varint(1);
  }

  /** An int32/enum/uint32 field; proto3 leaves out 0. */
  uint(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** An int64 field as a varint (negative values are ten bytes of two's complement). */
  int64(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    if (v >= 0) return this.varint(v);
    let b = BigInt.asUintN(64, BigInt(v));
    this.room(10);
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_I64);
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  // The last two times written, as their 64-bit halves: a frame's points share a sample time and,
  // for counters, a start time, written alternately.
  private lastMs = [NaN, NaN];
  private lastLo = [0, 0];
  private lastHi = [0, 0];
  private older = 0;

  /**
   * A fixed64 field of nanoseconds from epoch ms (maybe fractional: Mist has microseconds), rounded as
   * the SDK's hrtime is; always written, as the SDK does. The 64-bit sum is built from 32-bit halves in
   * exact double arithmetic (a BigInt per point was the writer's largest cost).
   */
  fixed64Ms(field: number, ms: number): void {
    this.tag(field, WIRE_I64);
    this.room(8);
    let k = ms === this.lastMs[0] ? 0 : ms === this.lastMs[1] ? 1 : -1;
    if (k < 0) {
      k = this.older;
      this.older = 1 - k;
      const s = Math.floor(ms / 1000);
      let ns = Math.round((ms - s * 1000) * 1e6);
      let sec = s;
      if (ns >= 1e9) {
        sec += 1;
        ns -= 1e9;
      }
      // sec·1e9 + ns with sec = sh·2^16 + sl: each product below 2^53, so exact.
      const sh = Math.floor(sec / 65536);
      const sl = sec - sh * 65536;
      const x = sh * 1e9; // × 2^16: its low 16 bits go to the low word's top, the rest to the high word
      const y = sl * 1e9 + ns;
      const xHi = Math.floor(x / 65536);
      const xLo = x - xHi * 65536;
      const yHi = Math.floor(y / 4294967296);
      const yLo = y - yHi * 4294967296;
      let lo = xLo * 65536 + yLo;
      const carry = Math.floor(lo / 4294967296);
      lo -= carry * 4294967296;
      this.lastMs[k] = ms;
      this.lastLo[k] = lo;
      this.lastHi[k] = xHi + yHi + carry;
    } else {
      this.older = 1 - k;
    }
    this.u32(this.lastLo[k]!);
    this.u32(this.lastHi[k]!);
  }

  /** Four bytes little-endian at the end, by hand: Buffer#writeUInt32LE's checks cost more than the write. */
  private u32(v: number): void {
    const b = this.buf;
    const at = this.pos;
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = v >>> 24;
    this.pos = at + 4;
  }

  /** Bytes written elsewhere before (a cached field), appended as they are. */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The bytes written since `from`, as a view into the scratch buffer (valid until the next write). */
  view(from: number): Uint8Array {
    return this.buf.subarray(from, this.pos);
  }

  /** An sfixed64 field from an integer number within int64. */
  sfixed64(field: number, v: number): void {
    this.tag(field, WIRE_I64);
    this.room(8);
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.u32(v | 0);
      this.u32(v < 0 ? -1 : 0);
    } else if (v > 0 && v <= Number.MAX_SAFE_INTEGER) {
      const hi = Math.floor(v / 4294967296);
      this.u32(v - hi * 4294967296);
      this.u32(hi);
    } else {
      this.buf.writeBigInt64LE(BigInt(v), this.pos);
      this.pos += 8;
    }
  }

  /** Overwrites 4 bytes already written with a u32le. */
  u32At(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }

  /** The bytes written since `from`, copied out (the scratch buffer is reused). */
  copy(from = 0): Buffer {
    // allocUnsafe: a small item comes from Node's shared pool instead of an ArrayBuffer of its own.
    const out = Buffer.allocUnsafe(this.pos - from);
    this.buf.copy(out, 0, from, this.pos);
    return out;
  }
}

/** Epoch ms (maybe fractional: Mist has microseconds) → nanoseconds, rounded as the SDK's hrtime is. */
export function msToNanos(ms: number): bigint {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return BigInt(s) * 1_000_000_000n + BigInt(ns);
}
