import pRetry from 'p-retry';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Give up after this long (0 or undefined: never). */
  maxElapsedMs?: number;
  signal?: AbortSignal;
  /** A server's own wish (Retry-After) wins over the computed delay when it is longer. */
  retryAfterMs?: (err: unknown) => number | undefined;
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog's "full jitter": a uniform delay in
 * [0, min(max, initial·2^n)]), so that many ws2otel instances that lost the same vendor server do
 * not all come back in the same second. p-retry owns the attempt loop, abort and give-up; the delay
 * itself is taken here because p-retry's own randomisation only spreads delays between 1× and 2×.
 */
export function fullJitterMs(attempt: number, initialMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.random() * cap;
}

export function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, opts: BackoffOptions): Promise<T> {
  return pRetry(fn, {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: 0,
    maxTimeout: 0,
    factor: 1,
    maxRetryTime: opts.maxElapsedMs ? opts.maxElapsedMs : Number.POSITIVE_INFINITY,
    ...(opts.signal ? { signal: opts.signal } : {}),
    shouldRetry: ({ error }) => (opts.shouldRetry ? opts.shouldRetry(error) : true),
    onFailedAttempt: async ({ error, attemptNumber }) => {
      if (opts.signal?.aborted) throw error;
      if (opts.shouldRetry && !opts.shouldRetry(error)) return;
      const delay = Math.max(opts.retryAfterMs?.(error) ?? 0, fullJitterMs(attemptNumber, opts.initialMs, opts.maxMs));
      opts.onRetry?.(error, attemptNumber, delay);
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
    },
  });
}
