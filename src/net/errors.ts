// The one set of connection-failure types every source and its REST calls share: what a failure
// means decides the schedule of the next try (a refused credential and a 429 wait on slow schedules,
// anything else on the reconnect backoff).

/**
 * A credential was refused (upgrade 401/403, a login's refusal): the source waits on the slow
 * auth-retry schedule, since retrying a wrong password fast only locks the account or the address.
 */
export class AuthError extends Error {
  /** What /readyz and `ws2otel_source_connect_failures_total{reason}` call it. */
  readonly reason: 'auth' | 'lockout' = 'auth';
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The server has probably blocked this address (it accepted and closed at once): waited out like a refusal. */
export class LockoutSuspected extends AuthError {
  override readonly reason = 'lockout' as const;
  constructor(message: string) {
    super(message, 0);
    this.name = 'LockoutSuspected';
  }
}

/** HTTP 429 on an upgrade or a REST call: the next try waits for Retry-After (or DEFAULT_RETRY_AFTER_MS). */
export class RateLimited extends Error {
  constructor(what: string, readonly retryAfterMs: number | undefined) {
    super(`${what} answered 429 Too Many Requests${retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs / 1000)} s)` : ''}`);
    this.name = 'RateLimited';
  }
}

/** Without Retry-After a 429 still means "slow down": Mist's guidance is at least 30 s. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;
/** A hostile or broken Retry-After (a year) is capped: an hour, and timers beyond 2^31 ms misfire. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** `Retry-After: 20` or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS) : undefined;
}

/** A failure worth retrying (network, 429, 5xx); `retryAfterMs` carries the server's Retry-After. */
export class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'RetryableError';
  }
}
