import { createRequire } from 'node:module';
import { kafkajs } from './kafkajs_client.js';

// kafkajs ships only gzip; snappy, lz4 and zstd are registered here from maintained native packages
// (prebuilt N-API binaries shipped in the npm packages): snappy (napi-rs), lz4-napi (lz4_flex), zstd-napi.
// Kafka's framing: snappy as raw blocks (the Java client reads raw or xerial-framed), lz4 as the
// standard LZ4 frame format, zstd as a standard zstd frame.

const require = createRequire(import.meta.url);

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Snappy as Kafka's Java clients may write it: xerial framing (magic, version, compat, then length-prefixed blocks) or raw. */
export function snappyDecompress(buf: Buffer, uncompress: (b: Buffer) => Buffer): Buffer {
  if (buf.length < 16 || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) return uncompress(buf);
  const parts: Buffer[] = [];
  for (let off = 16; off + 4 <= buf.length;) {
    const len = buf.readUInt32BE(off);
    parts.push(uncompress(buf.subarray(off + 4, off + 4 + len)));
    off += 4 + len;
  }
  return Buffer.concat(parts);
}

let registered = false;

/** Registers snappy, lz4 and zstd with kafkajs (idempotent); the packages load only when first used. */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  const snappy = (): Codec => {
    const s = require('snappy') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Buffer, o?: object): Buffer };
    return {
      compress: async (e) => s.compressSync(e.buffer),
      decompress: async (b) => snappyDecompress(b, (x) => s.uncompressSync(x) as Buffer),
    };
  };
  const lz4 = (): Codec => {
    const l = require('lz4-napi') as { compressFrameSync(b: Buffer): Buffer; decompressFrameSync(b: Buffer): Buffer };
    return {
      compress: async (e) => l.compressFrameSync(e.buffer),
      decompress: async (b) => l.decompressFrameSync(b),
    };
  };
  const zstd = (): Codec => {
    const z = require('zstd-napi') as { compress(b: Buffer): Buffer; decompress(b: Buffer): Buffer };
    return {
      compress: async (e) => z.compress(e.buffer),
      decompress: async (b) => z.decompress(b),
    };
  };
  const { CompressionCodecs, CompressionTypes } = kafkajs();
  const codecs = CompressionCodecs as unknown as Record<number, () => Codec>;
  codecs[CompressionTypes.Snappy] = snappy;
  codecs[CompressionTypes.LZ4] = lz4;
  codecs[CompressionTypes.ZSTD] = zstd;
}
