import { gzip } from 'node:zlib';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tlsClientOptions } from '../../net/tls.js';
import { promisify } from 'node:util';
import type { Envelope } from '../../model.js';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { PermanentError, RetryableError, type Sink, type SinkContext, type SinkFactory } from '../sink.js';
import { peerText } from '../../telemetry/logger.js';
import { checkOtlpHttp, otlpHttpSchema, type OtlpHttpConfig } from './config.js';

const gzipAsync = promisify(gzip);

// The OTLP/HTTP spec's retryable statuses; every other 4xx/5xx is final for that batch.
const RETRYABLE = new Set([429, 502, 503, 504]);

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

type Signal = 'metrics' | 'logs';

export class OtlpHttpSink implements Sink {
  readonly name: string;
  private readonly urls: Record<Signal, string>;
  private readonly headers: Record<string, string>;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  // A retried batch resends only the signal that has not been accepted yet.
  private readonly delivered = new WeakMap<readonly Envelope[], Set<Signal>>();

  constructor(private readonly cfg: OtlpHttpConfig, private readonly ctx: SinkContext) {
    this.name = cfg.name;
    const base = cfg.endpoint.replace(/\/+$/, '');
    this.urls = {
      metrics: cfg.metrics_endpoint || `${base}/v1/metrics`,
      logs: cfg.logs_endpoint || `${base}/v1/logs`,
    };
    // One kept-alive agent per scheme; the TLS block (CA, client certificate, verification) is read once.
    this.httpAgent = new HttpAgent({ keepAlive: true });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...tlsClientOptions(cfg.tls) });
    this.headers = {
      'Content-Type': cfg.encoding === 'proto' ? 'application/x-protobuf' : 'application/json',
      'User-Agent': 'ws2otel',
      ...(cfg.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
      ...cfg.headers,
    };
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<void> {
    let done = this.delivered.get(batch);
    if (!done) this.delivered.set(batch, (done = new Set()));
    if (!done.has('metrics')) {
      const body = encodeMetrics(batch, this.cfg.encoding);
      if (body) await this.post('metrics', body, signal);
      done.add('metrics');
    }
    if (!done.has('logs')) {
      const body = encodeLogs(batch, this.cfg.encoding);
      if (body) await this.post('logs', body, signal);
      done.add('logs');
    }
  }

  private async post(kind: Signal, body: Uint8Array, signal: AbortSignal): Promise<void> {
    const payload = this.cfg.compression === 'gzip' ? await gzipAsync(body) : body;
    let res: { status: number; retryAfter: string | null; text: string };
    try {
      res = await this.request(this.urls[kind], payload, AbortSignal.any([signal, AbortSignal.timeout(this.cfg.timeout)]));
    } catch (err) {
      if (signal.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new RetryableError(`${kind}: ${e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${this.cfg.timeout} ms` : (e.code ?? e.message)}`);
    }
    if (res.status >= 200 && res.status < 300) return;
    // An error body may echo the request (its headers, our API key): cut and scrubbed before it
    // reaches a log line, /readyz or a dead letter.
    const text = peerText(res.text);
    const msg = `${kind}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
    if (RETRYABLE.has(res.status)) throw new RetryableError(msg, parseRetryAfter(res.retryAfter));
    throw new PermanentError(msg);
  }

  /** One POST on the kept-alive agent; the answer body is read (at most 64 KiB kept) so the socket is reused. */
  private request(url: string, payload: Uint8Array, signal: AbortSignal): Promise<{ status: number; retryAfter: string | null; text: string }> {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(u, {
        method: 'POST',
        headers: { ...this.headers, 'Content-Length': String(payload.byteLength) },
        agent: https ? this.httpsAgent : this.httpAgent,
        signal,
      }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < 64 * 1024) chunks.push(c);
          kept += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

export const otlpHttpSink: SinkFactory<OtlpHttpConfig> = {
  type: 'otlp_http',
  schema: otlpHttpSchema,
  check: checkOtlpHttp,
  create: (config, ctx) => new OtlpHttpSink(config, ctx),
};
