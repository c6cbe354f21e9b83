import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RetryableError } from '../sinks/sink.js';
import { tlsClientOptions, type TlsSettings } from './tls.js';

// The HTTP client plumbing every HTTP sink shares (as the Collector's confighttp): kept-alive agents
// carrying the shared TLS block (CA, client certificate, verification switches), one POST with a
// per-request time limit under the pipeline's abort signal, network failures made retryable, the
// answer's status, text (at most MAX_ANSWER_BYTES kept) and Retry-After handed back for the sink to
// classify by its own protocol. node:http rather than fetch: fetch takes no TLS options.

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
      return await this.request(url, typeof body === 'string' ? Buffer.from(body) : body, headers, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
    } catch (err) {
      if (signal.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new RetryableError(`${what}: ${e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message)}`);
    }
  }

  private request(url: string, payload: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(u, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(payload.byteLength) },
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
