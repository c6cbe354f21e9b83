import type { Item, ItemBuffer } from './buffer.js';

/** A bounded FIFO of encoded items in memory: fast, and lost on a crash (use the disk buffer to keep it). */
export class MemoryBuffer implements ItemBuffer {
  private items: Item[] = [];
  private head = 0;
  /** How many at the head are taken by the batch in flight. */
  private inFlight = 0;
  /** The bytes of the items held: what they take in memory, bar a small fixed overhead each. */
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

  push(item: Item): void {
    this.items.push(item);
    this.bytes += item.bytes.length;
  }

  dropOldest(): boolean {
    if (this.pending === 0) return false;
    const [gone] = this.items.splice(this.head + this.inFlight, 1);
    this.bytes -= gone!.bytes.length;
    return true;
  }

  take(max: number): Item[] {
    const n = Math.min(max, this.pending);
    const start = this.head + this.inFlight;
    this.inFlight += n;
    return this.items.slice(start, start + n);
  }

  ack(): void {
    for (let i = this.head; i < this.head + this.inFlight; i++) {
      this.bytes -= this.items[i]!.bytes.length;
      this.items[i] = undefined as unknown as Item; // let the bytes go now, not at the next compaction
    }
    this.head += this.inFlight;
    this.inFlight = 0;
    // Compact now and then rather than shifting on every ack.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  unTake(): void {
    this.inFlight = 0;
  }

  close(): void {}
}
