import type { Writable } from 'node:stream';
import { RetryableError } from './sink.js';

/**
 * Writes one batch's bytes to a stream; resolves when the stream took them. A failed write, or a
 * stream that fails while writing (a file that could not be opened), is a retryable send failure.
 */
export function writeOut(out: Writable, chunk: string | Uint8Array, what = 'write'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new RetryableError(`${what}: ${err.message}`));
    out.once('error', onError);
    out.write(chunk, (err) => {
      out.off('error', onError);
      if (err) onError(err);
      else resolve();
    });
  });
}
