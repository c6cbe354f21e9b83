import type { Envelope } from '../model.js';

/**
 * Where a sink's unsent envelopes wait. Records leave only when the sink confirmed them (`ack`):
 * a failed batch stays at the head and is retried, which makes delivery at-least-once.
 */
export interface EnvelopeBuffer {
  /** Envelopes held, in flight included. */
  readonly size: number;
  /** Bytes held (exact on disk, estimated in memory). */
  readonly bytes: number;
  readonly full: boolean;
  /** Envelopes not yet in a batch. */
  readonly pending: number;
  /** Adds at the tail; throws BufferFullError when the medium refuses (disk full). */
  push(env: Envelope): void;
  /** Removes the oldest envelope not in flight; false when there is none (or the medium cannot). */
  dropOldest(): boolean;
  /** The next batch, at most `max` envelopes; it stays held until `ack`. */
  take(max: number): Envelope[];
  /** The batch in flight was delivered (or dead-lettered): release it. */
  ack(): void;
  /** Forget that a batch is in flight, so the next take returns it again (a send was abandoned). */
  unTake(): void;
  close(): void;
}

export class BufferFullError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'BufferFullError';
  }
}

/** A rough in-memory size of an envelope, for `max_bytes` of memory buffers. */
export function estimateBytes(env: Envelope): number {
  return 200 + env.metrics.length * 180 + env.logs.reduce((n, r) => n + 160 + r.body.length * 2, 0);
}
