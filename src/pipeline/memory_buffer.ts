import type { Envelope } from '../model.js';

/**
 * A bounded FIFO of envelopes waiting for one sink. Records leave it only when the sink confirmed
 * them (`ack`), so a batch that fails stays at the head and is retried: at-least-once.
 */
export class MemoryBuffer {
  private items: Envelope[] = [];
  private head = 0;
  /** How many at the head are taken by the batch in flight. */
  private inFlight = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** How many wait that are not yet in a batch. */
  get pending(): number {
    return this.size - this.inFlight;
  }

  push(env: Envelope): void {
    this.items.push(env);
  }

  /** Removes the oldest envelope not in flight (when_full: drop_oldest). */
  dropOldest(): Envelope | undefined {
    if (this.pending === 0) return undefined;
    const idx = this.head + this.inFlight;
    return this.items.splice(idx, 1)[0];
  }

  /** The next batch, at most `max` envelopes; stays in the buffer until acked. */
  take(max: number): Envelope[] {
    const n = Math.min(max, this.pending);
    const start = this.head + this.inFlight;
    this.inFlight += n;
    return this.items.slice(start, start + n);
  }

  /** The batch in flight was delivered (or given up): release it. */
  ack(): void {
    this.head += this.inFlight;
    this.inFlight = 0;
    // Compact now and then rather than shifting on every ack.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
