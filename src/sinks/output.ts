import type { Writable } from 'node:stream';
import { RetryableError } from './sink.js';

/** Writes one batch's bytes to a stream; resolves when the stream took them (a failed write is retried). */
export function writeOut(out: Writable, chunk: string | Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    out.write(chunk, (err) => (err ? reject(new RetryableError(`write: ${err.message}`)) : resolve())),
  );
}
