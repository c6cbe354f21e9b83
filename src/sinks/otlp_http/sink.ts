import { otlpBodies, otlpCodec } from '../../encoding/otlp.js';
import type { Codec } from '../../encoding/codec.js';
import { HttpClient, gzipAsync } from '../../net/http.js';
import { peerText } from '../../telemetry/logger.js';
import { PermanentError, RetryableError, type ExportRequest, type Sink, type SinkContext, type SinkFactory } from '../sink.js';
import { checkOtlpHttp, otlpHttpSchema, type OtlpHttpConfig } from './config.js';

export { parseRetryAfter } from '../../net/http.js';

// The OTLP/HTTP spec's retryable statuses; every other 4xx/5xx is final for that batch.
const RETRYABLE = new Set([429, 502, 503, 504]);
// Final statuses that may be about some of the data (a bad value, a request too large): the pipeline
// splits such a request to find the envelopes refused. Others (401, 404, …) refuse any request.
const ABOUT_THE_DATA = new Set([400, 413, 422]);

type Signal = 'metrics' | 'logs';

export class OtlpHttpSink implements Sink {
  readonly name: string;
  /** Each envelope as the bytes of a one-resource export request (protobuf) or its JSON element. */
  readonly codec: Codec;
  private readonly urls: Record<Signal, string>;
  private readonly headers: Record<string, string>;
  private readonly http: HttpClient;

  constructor(private readonly cfg: OtlpHttpConfig, private readonly ctx: SinkContext) {
    this.name = cfg.name;
    this.codec = otlpCodec(cfg.encoding);
    const base = cfg.endpoint.replace(/\/+$/, '');
    this.urls = {
      metrics: cfg.metrics_endpoint || `${base}/v1/metrics`,
      logs: cfg.logs_endpoint || `${base}/v1/logs`,
    };
    // Kept-alive connections; the TLS block (CA, client certificate, verification) is read once.
    this.http = new HttpClient(cfg.tls);
    this.headers = {
      'Content-Type': cfg.encoding === 'proto' ? 'application/x-protobuf' : 'application/json',
      'User-Agent': 'ws2otel',
      ...(cfg.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
      ...cfg.headers,
    };
  }

  /**
   * The bodies are the items' parts concatenated (kept on the request for its retries); a retried
   * request resends only the signal not yet accepted (marked on the request, per signal).
   */
  async send(req: ExportRequest, signal: AbortSignal): Promise<void> {
    const bodies = req.memo('otlp', () => otlpBodies(req.items, this.cfg.encoding));
    for (const kind of ['metrics', 'logs'] as const) {
      if (req.delivered(kind)) continue;
      const body = bodies[kind];
      if (body) await this.post(kind, body, signal);
      req.markDelivered(kind);
    }
  }

  private async post(kind: Signal, body: Uint8Array, signal: AbortSignal): Promise<void> {
    // zlib runs on libuv's thread pool, off the event loop: no worker thread of our own is needed.
    const payload = this.cfg.compression === 'gzip' ? await gzipAsync(body, { level: this.cfg.compression_level }) : body;
    const res = await this.http.post(this.urls[kind], payload, this.headers, this.cfg.timeout, signal, kind);
    if (res.ok) return;
    // An error body may echo the request (its headers, our API key): cut and scrubbed before it
    // reaches a log line, /readyz or a dead letter.
    const text = peerText(res.text);
    const msg = `${kind}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
    if (RETRYABLE.has(res.status)) throw new RetryableError(msg, res.retryAfterMs);
    throw new PermanentError(msg, { splittable: ABOUT_THE_DATA.has(res.status) });
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

export const otlpHttpSink: SinkFactory<OtlpHttpConfig> = {
  type: 'otlp_http',
  schema: otlpHttpSchema,
  check: checkOtlpHttp,
  create: (config, ctx) => new OtlpHttpSink(config, ctx),
};
