import type { Envelope } from '../model.js';

/**
 * A sink's wire form for one envelope, applied once when the sink accepts the envelope: its buffers
 * hold these bytes, a batch is built from them by concatenation, and nothing is encoded again.
 */
export interface Codec {
  /** Names the form in dead letters (`otlp_proto`, `otlp_json`, `hec`, …). */
  readonly name: string;
  /**
   * The envelope in this sink's wire form. Throws (TypeError, RangeError) when the sink cannot carry it:
   * that envelope alone is rejected and counted, the others are unaffected.
   */
  encode(env: Envelope): Buffer;
  /** The bytes as a value a person reads (JSON), for the dead-letter file. */
  readable(bytes: Buffer): unknown;
}

/** Several byte strings as one: each but the last behind its u32le length, the last to the end. */
export function joinParts(parts: readonly (Uint8Array | string)[]): Buffer {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  let n = 0;
  for (let i = 0; i < bufs.length; i++) n += bufs[i]!.length + (i < bufs.length - 1 ? 4 : 0);
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!;
    if (i < bufs.length - 1) at = out.writeUInt32LE(b.length, at);
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The `count` parts of joinParts' output, as views into it (nothing copied). */
export function splitParts(buf: Buffer, count: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count - 1; i++) {
    if (at + 4 > buf.length) throw new RangeError('encoded item is shorter than its parts');
    const len = buf.readUInt32LE(at);
    if (at + 4 + len > buf.length) throw new RangeError('encoded item is shorter than its parts');
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  out.push(buf.subarray(at));
  return out;
}
