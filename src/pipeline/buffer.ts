/**
 * One envelope as a sink carries it: encoded once, when the sink accepted it, into the sink's wire form
 * (see encoding/codec.ts). Buffers, batches and retries move these bytes; nothing is decoded again
 * except for a dead letter.
 */
export interface Item {
  readonly bytes: Buffer;
  /** When the frame arrived (epoch ms): the start of ws2otel's added latency, kept across a restart. */
  readonly receivedMs: number;
}

/**
 * Where a sink's unsent items wait. Records leave only when the sink confirmed them (`ack`): a failed
 * batch stays at the head and is retried, which makes delivery at-least-once.
 */
export interface ItemBuffer {
  /** Items held, in flight included. */
  readonly size: number;
  /** Bytes held: on disk, the records' size; in memory, the encoded items' bytes. */
  readonly bytes: number;
  readonly full: boolean;
  /** Items not yet in a batch. */
  readonly pending: number;
  /** Adds at the tail; throws BufferFullError when the medium refuses (disk full). */
  push(item: Item): void;
  /** Removes the oldest item not in flight; false when there is none (or the medium cannot). */
  dropOldest(): boolean;
  /** The next batch, at most `max` items; it stays held until `ack`. */
  take(max: number): Item[];
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
