import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { PermanentError, RetryableError, type ExportRequest, type Sink, type SinkContext, type SinkFactory } from '../sink.js';
import { checkOtlpHttp, otlpHttpSchema, type OtlpHttpConfig } from './config.js';

const gzipAsync = promisify(gzip);

// The OTLP/HTTP spec's retryable statuses; every other 4xx/5xx is final for that batch.
const RETRYABLE = new Set([429, 502, 503, 504]);
// Final statuses that may be about some of the data (a bad value, a request too large): the pipeline
// splits such a request to find the envelopes refused. Others (401, 404, …) refuse any request.
const ABOUT_THE_DATA = new Set([400, 413, 422]);

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

  constructor(private readonly cfg: OtlpHttpConfig, private readonly ctx: SinkContext) {
    this.name = cfg.name;
    const base = cfg.endpoint.replace(/\/+$/, '');
    this.urls = {
      metrics: cfg.metrics_endpoint || `${base}/v1/metrics`,
      logs: cfg.logs_endpoint || `${base}/v1/logs`,
    };
    this.headers = {
      'Content-Type': cfg.encoding === 'proto' ? 'application/x-protobuf' : 'application/json',
      'User-Agent': 'ws2otel',
      ...(cfg.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
      ...cfg.headers,
    };
  }

  /** A retried request resends only the signal not yet accepted (marked on the request, per signal). */
  async send(req: ExportRequest, signal: AbortSignal): Promise<void> {
    if (!req.delivered('metrics')) {
      const body = encodeMetrics(req.envelopes, this.cfg.encoding);
      if (body) await this.post('metrics', body, signal);
      req.markDelivered('metrics');
    }
    if (!req.delivered('logs')) {
      const body = encodeLogs(req.envelopes, this.cfg.encoding);
      if (body) await this.post('logs', body, signal);
      req.markDelivered('logs');
    }
  }

  private async post(kind: Signal, body: Uint8Array, signal: AbortSignal): Promise<void> {
    const payload = this.cfg.compression === 'gzip' ? await gzipAsync(body) : body;
    let res: Response;
    try {
      res = await fetch(this.urls[kind], {
        method: 'POST',
        headers: this.headers,
        body: payload,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.cfg.timeout)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new RetryableError(`${kind}: ${cause ?? (err as Error).message}`);
    }
    if (res.ok) {
      await res.arrayBuffer(); // drain so the connection returns to the pool
      return;
    }
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const msg = `${kind}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
    if (RETRYABLE.has(res.status)) throw new RetryableError(msg, parseRetryAfter(res.headers.get('retry-after')));
    throw new PermanentError(msg, { splittable: ABOUT_THE_DATA.has(res.status) });
  }

  async close(): Promise<void> {}
}

export const otlpHttpSink: SinkFactory<OtlpHttpConfig> = {
  type: 'otlp_http',
  schema: otlpHttpSchema,
  check: checkOtlpHttp,
  create: (config, ctx) => new OtlpHttpSink(config, ctx),
};
