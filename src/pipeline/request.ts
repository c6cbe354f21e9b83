import type { Envelope } from '../model.js';

/**
 * One batch as the exporter holds it from the first attempt to the last, as the Collector's
 * exporterhelper requests: a sink records on it what the peer already accepted, so a retry resends
 * only the rest, and the exporter can split it to find the envelopes a peer refuses for good.
 *
 * A sink marks a part done with `markDelivered(key)` and skips parts already `delivered(key)`. Keys
 * must stay true for any subset of the envelopes (a signal: "metrics", "logs"), because a split
 * request inherits them. Anything else a sink wants to keep across retries (an encoding, produce
 * requests and which of them were acknowledged) goes in `memo`, which a split does not inherit:
 * the halves start over, so they may duplicate what was sent, never lose it.
 */
export class ExportRequest {
  private readonly done: Set<string>;
  private readonly memos = new Map<string, unknown>();

  constructor(readonly envelopes: readonly Envelope[], inherited: Iterable<string> = []) {
    this.done = new Set(inherited);
  }

  get size(): number {
    return this.envelopes.length;
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

  /** Two halves, in order, each carrying what was already delivered; undefined for one envelope. */
  split(): [ExportRequest, ExportRequest] | undefined {
    if (this.envelopes.length < 2) return undefined;
    const mid = this.envelopes.length >> 1;
    return [new ExportRequest(this.envelopes.slice(0, mid), this.done), new ExportRequest(this.envelopes.slice(mid), this.done)];
  }
}
