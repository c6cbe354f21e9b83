import type { Envelope } from '../model.js';
import { envelopeBytes, type EnvelopeBuffer } from './buffer.js';

/** A bounded FIFO in memory: fast, and lost on a crash (use the disk buffer to keep it). */
export class MemoryBuffer implements EnvelopeBuffer {
  private items: Envelope[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** How many at the head are taken by the batch in flight. */
  private inFlight = 0;
  bytes = 0;

  constructor(readonly maxEvents: number, readonly maxBytes = 0) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.size >= this.maxEvents || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  get pending(): number {
    return this.size - this.inFlight;
  }

  push(env: Envelope): void {
    const b = envelopeBytes(env);
    this.items.push(env);
    this.sizes.push(b);
    this.bytes += b;
  }

  dropOldest(): boolean {
    if (this.pending === 0) return false;
    const idx = this.head + this.inFlight;
    this.items.splice(idx, 1);
    this.bytes -= this.sizes.splice(idx, 1)[0]!;
    return true;
  }

  take(max: number): Envelope[] {
    const n = Math.min(max, this.pending);
    const start = this.head + this.inFlight;
    this.inFlight += n;
    return this.items.slice(start, start + n);
  }

  ack(): void {
    for (let i = this.head; i < this.head + this.inFlight; i++) this.bytes -= this.sizes[i]!;
    this.head += this.inFlight;
    this.inFlight = 0;
    // Compact now and then rather than shifting on every ack.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  unTake(): void {
    this.inFlight = 0;
  }

  close(): void {}
}
