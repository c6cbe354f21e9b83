import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AuthError, RateLimited, RetryableError, retryAfterMs } from './errors.js';
import { tlsClientOptions, type TlsSettings } from './tls.js';

// The HTTP client plumbing every HTTP sink shares (as the Collector's confighttp): kept-alive agents
// carrying the shared TLS block (CA, client certificate, verification switches), one POST with a
// per-request time limit under the pipeline's abort signal, network failures made retryable, the
// answer's status, text (at most MAX_ANSWER_BYTES kept) and Retry-After handed back for the sink to
// classify by its own protocol. Sources' REST calls (logins, snapshots) use `call`: any method, a JSON
// or text body, the response headers (Set-Cookie: see cookies.ts), and on request the source semantics
// of a refusal (401/403 → AuthError, 429 → RateLimited: the session's slow schedules).
// node:http rather than fetch: fetch takes no TLS options.

export const gzipAsync = promisify(gzip);

/** What of an answer's body is kept: enough for any error text, never a runaway body in memory. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | null | undefined): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The response body as text (read to its end so the socket is reused; the first 64 KiB kept). */
  text: string;
  retryAfterMs?: number;
}

/** One REST call of a source. */
export interface HttpCall {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON (Content-Type application/json unless headers say otherwise). */
  json?: unknown;
  /** Sent as is (Content-Type text/plain unless headers say otherwise). */
  body?: string | Uint8Array;
  timeoutMs: number;
  signal?: AbortSignal;
  /** What the call is, for error texts (`the login`, `the snapshot of /api/x`). */
  what: string;
  /** Throw AuthError on 401/403 and RateLimited on 429 (the source's slow schedules) instead of answering. */
  sourceSemantics?: boolean;
}

export interface HttpReply extends HttpAnswer {
  headers: IncomingHttpHeaders;
  /** Every Set-Cookie header of the answer. */
  setCookie: string[];
  /** The body was longer than the 64 KiB kept: `text` is its start only. */
  truncated: boolean;
}

export class HttpClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;

  constructor(tls?: TlsSettings) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...(tls ? tlsClientOptions(tls) : {}) });
  }

  /**
   * POSTs `body`; resolves with any HTTP answer. Throws RetryableError (prefixed with `what`) when no
   * answer came (refused, reset, timed out), and rethrows the abort when the pipeline aborted.
   */
  async post(url: string, body: Uint8Array | string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal, what: string): Promise<HttpAnswer> {
    try {
      const a = await this.request(url, typeof body === 'string' ? Buffer.from(body) : body, headers, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
      // The sinks' answer as it always was: no headers kept beyond Retry-After.
      return { status: a.status, ok: a.ok, text: a.text, retryAfterMs: a.retryAfterMs };
    } catch (err) {
      if (signal.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new RetryableError(`${what}: ${e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message)}`);
    }
  }

  /**
   * A source's REST call. Throws an Error naming `what` when no answer came in `timeoutMs` (or the
   * network failed), the abort when `signal` aborted, and with `sourceSemantics` AuthError / RateLimited.
   */
  async call(c: HttpCall): Promise<HttpReply> {
    const headers: Record<string, string> = { ...c.headers };
    const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    let payload: Uint8Array | undefined;
    if (c.json !== undefined) {
      payload = Buffer.from(JSON.stringify(c.json));
      if (!hasType) headers['Content-Type'] = 'application/json';
    } else if (c.body !== undefined) {
      payload = typeof c.body === 'string' ? Buffer.from(c.body) : c.body;
      if (!hasType) headers['Content-Type'] = 'text/plain';
    }
    const signal = c.signal ? AbortSignal.any([c.signal, AbortSignal.timeout(c.timeoutMs)]) : AbortSignal.timeout(c.timeoutMs);
    let reply: HttpReply;
    try {
      reply = await this.request(c.url, payload, headers, signal, c.method ?? (payload ? 'POST' : 'GET'));
    } catch (err) {
      if (c.signal?.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new Error(`${c.what}: ${e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${c.timeoutMs} ms` : (e.code ?? e.message)}`);
    }
    if (c.sourceSemantics) {
      if (reply.status === 401 || reply.status === 403) throw new AuthError(`${c.what} refused with HTTP ${reply.status}: check the credentials`, reply.status);
      if (reply.status === 429) throw new RateLimited(c.what, retryAfterMs(reply.headers['retry-after']));
    }
    return reply;
  }

  private request(url: string, payload: Uint8Array | undefined, headers: Record<string, string>, signal: AbortSignal, method = 'POST'): Promise<HttpReply> {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(u, {
        method,
        headers: payload || method === 'POST' ? { ...headers, 'Content-Length': String(payload?.byteLength ?? 0) } : headers,
        agent: https ? this.httpsAgent : this.httpAgent,
        signal,
      }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < MAX_ANSWER_BYTES) chunks.push(c);
          kept += c.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({
            status, ok: status >= 200 && status < 300,
            text: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
            retryAfterMs: parseRetryAfter(res.headers['retry-after'] as string | undefined),
            headers: res.headers,
            setCookie: res.headers['set-cookie'] ?? [],
            truncated: kept > MAX_ANSWER_BYTES,
          });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
