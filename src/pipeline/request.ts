import type { Item } from './buffer.js';

/**
 * One batch as the exporter holds it from the first attempt to the last, as the Collector's
 * exporterhelper requests: a list of encoded items (one per envelope) on which a sink records what the
 * peer already accepted, so a retry resends only the rest, and which the exporter can split to find the
 * items a peer refuses for good.
 *
 * A sink marks a part done with `markDelivered(key)` and skips parts already `delivered(key)`. Keys
 * must stay true for any subset of the items (a signal: "metrics", "logs"), because a split request
 * inherits them. Anything else a sink wants to keep across retries (request bodies, produce requests
 * and which of them were acknowledged) goes in `memo`, which a split does not inherit: the halves
 * start over, so they may duplicate what was sent, never lose it.
 */
export class ExportRequest {
  private readonly done: Set<string>;
  private readonly memos = new Map<string, unknown>();

  constructor(readonly items: readonly Item[], inherited: Iterable<string> = []) {
    this.done = new Set(inherited);
  }

  get size(): number {
    return this.items.length;
  }

  delivered(key: string): boolean {
    return this.done.has(key);
  }

  markDelivered(key: string): void {
    this.done.add(key);
  }

  /** The value `make` returns, computed once per request. */
  memo<T>(key: string, make: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, make());
    return this.memos.get(key) as T;
  }

  /** Two halves of the item list, in order, each carrying what was already delivered; undefined for one item. */
  split(): [ExportRequest, ExportRequest] | undefined {
    if (this.items.length < 2) return undefined;
    const mid = this.items.length >> 1;
    return [new ExportRequest(this.items.slice(0, mid), this.done), new ExportRequest(this.items.slice(mid), this.done)];
  }
}
