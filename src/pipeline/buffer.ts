import type { Envelope } from '../model.js';

/**
 * Where a sink's unsent envelopes wait. Records leave only when the sink confirmed them (`ack`):
 * a failed batch stays at the head and is retried, which makes delivery at-least-once.
 */
export interface EnvelopeBuffer {
  /** Envelopes held, in flight included. */
  readonly size: number;
  /** Bytes held: on disk, the records' size; in memory, the size of the envelopes' strings and numbers. */
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

// Per-object and per-value overheads of V8 (64-bit, pointer compression): an object header with a few
// properties, a number, an array slot. Strings count one byte a character (V8's one-byte strings;
// two-byte ones are rarer here), so the count follows what the frames carried, 1 MiB strings included.
const OBJECT = 48;
const VALUE = 16;

function attrBytes(a: Record<string, unknown>): number {
  let n = OBJECT;
  for (const k in a) {
    const v = a[k];
    n += VALUE + k.length + (typeof v === 'string' ? VALUE + v.length : VALUE);
  }
  return n;
}

/**
 * The memory an envelope holds, for `max_bytes` of memory buffers: every string's length and a fixed
 * overhead per object and value. Strings shared between points (metric names, units) are counted
 * each time, so the figure errs high, never low.
 */
export function envelopeBytes(env: Envelope): number {
  let n = OBJECT * 2 + env.source.length + env.scope.name.length + env.scope.version.length + attrBytes(env.resource);
  for (const p of env.metrics) n += OBJECT + 6 * VALUE + p.name.length + p.unit.length + p.description.length + attrBytes(p.attributes);
  for (const r of env.logs) {
    n += OBJECT + 6 * VALUE + r.severityText.length + r.body.length + (r.eventName?.length ?? 0) + attrBytes(r.attributes);
  }
  return n;
}
