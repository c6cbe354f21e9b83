import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { RetryableError } from '../sinks/sink.js';

// The HTTP client plumbing every HTTP sink shares (as the Collector's confighttp): one POST with a
// per-request time limit under the pipeline's abort signal, network failures made retryable, the
// answer's status, text and Retry-After handed back for the sink to classify by its own protocol.

export const gzipAsync = promisify(gzip);

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The response body as text (read in full, so the connection returns to the pool). */
  text: string;
  retryAfterMs?: number;
}

/**
 * POSTs `body`; resolves with any HTTP answer. Throws RetryableError (prefixed with `what`) when no
 * answer came (refused, reset, timed out), and rethrows the abort when the pipeline aborted.
 */
export async function httpPost(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
  what: string,
): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new RetryableError(`${what}: ${cause ?? (err as Error).message}`);
  }
  let text = '';
  try {
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw err;
    if (res.ok) throw new RetryableError(`${what}: answer cut off: ${(err as Error).message}`);
  }
  return { status: res.status, ok: res.ok, text, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
}
