import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hecCodec, type HecMetadata } from '../../encoding/splunk_hec.js';
import type { Codec } from '../../encoding/codec.js';
import type { Item } from '../../pipeline/buffer.js';
import { HttpClient, gzipAsync, type HttpAnswer } from '../../net/http.js';
import { peerText } from '../../telemetry/logger.js';
import { PermanentError, RetryableError, type ExportRequest, type Sink, type SinkContext, type SinkFactory } from '../sink.js';
import { checkSplunkHec, splunkHecSchema, type SplunkHecConfig } from './config.js';

// HEC's "server busy" (503), throttling (429) and server/proxy failures are worth retrying; a refused
// token (401, 403), a bad request (400: unknown index, bad format) or any other 4xx is final.
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** HEC's error body is `{"text":"Invalid token","code":4}`; the log line shows it as `Invalid token (code 4)`. */
export function hecErrorText(body: string): string {
  try {
    const j = JSON.parse(body) as { text?: unknown; code?: unknown };
    if (typeof j.text === 'string') return peerText(j.code !== undefined ? `${j.text} (code ${String(j.code)})` : j.text);
  } catch {
    // not JSON: a proxy's page; shown as it came, cut short
  }
  // Scrubbed and cut: an error page may echo the request, token included.
  return peerText(body.replace(/\s+/g, ' '));
}

function hecError(what: string, res: HttpAnswer): Error {
  const text = hecErrorText(res.text);
  const msg = `${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
  if (RETRYABLE.has(res.status)) return new RetryableError(msg, res.retryAfterMs);
  // 400 (invalid data format, a bad field) and 413 may be about some events: the pipeline splits the
  // request to find them; 401, 403 and the rest refuse any request.
  return new PermanentError(msg, { splittable: res.status === 400 || res.status === 413 });
}

/** One POST of events; with indexer acknowledgement, the ackId HEC gave it until Splunk confirms. */
interface HecRequest {
  body: Buffer;
  ackId?: number;
  done: boolean;
}

export class SplunkHecSink implements Sink {
  readonly name: string;
  /** Each envelope as its HEC events, newline-joined: a request body is a concatenation of them. */
  readonly codec: Codec;
  private readonly eventUrl: string;
  private readonly ackUrl: string;
  private readonly headers: Record<string, string>;
  private readonly ackHeaders: Record<string, string>;
  private readonly meta: HecMetadata;
  /** Indexer acknowledgement works per channel: one per sink instance. */
  readonly channel = randomUUID();
  private noAckWarned = false;
  private readonly http: HttpClient;

  constructor(private readonly cfg: SplunkHecConfig, private readonly ctx: SinkContext) {
    this.name = cfg.name;
    this.http = new HttpClient(cfg.tls);
    const base = cfg.endpoint.replace(/\/+$/, '');
    this.eventUrl = `${base}/services/collector/event`;
    this.ackUrl = `${base}/services/collector/ack`;
    const common: Record<string, string> = {
      Authorization: `Splunk ${cfg.token}`,
      'Content-Type': 'application/json',
      'User-Agent': 'ws2otel',
      ...(cfg.ack ? { 'X-Splunk-Request-Channel': this.channel } : {}),
    };
    this.headers = { ...common, ...(cfg.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}) };
    this.ackHeaders = common;
    this.meta = { host: cfg.host, source: cfg.source, sourcetype: cfg.sourcetype, index: cfg.index, metricsIndex: cfg.metrics_index };
    this.codec = hecCodec(this.meta);
  }

  /**
   * The batch's events cut into request bodies of at most max_request_bytes (an event larger than that
   * goes alone): whole items are concatenated; only an item larger than the limit is cut at its newlines.
   */
  requestsFor(items: readonly Item[]): HecRequest[] {
    const out: HecRequest[] = [];
    const max = this.cfg.max_request_bytes;
    let parts: Buffer[] = [];
    let size = 0;
    const add = (b: Buffer) => {
      if (size + b.length + 1 > max && parts.length) {
        out.push({ body: joinLines(parts), done: false });
        parts = [];
        size = 0;
      }
      parts.push(b);
      size += b.length + 1;
    };
    for (const it of items) {
      if (it.bytes.length === 0) continue;
      if (it.bytes.length + 1 <= max) {
        add(it.bytes);
        continue;
      }
      for (let at = 0; at < it.bytes.length;) {
        let nl = it.bytes.indexOf(0x0a, at);
        if (nl < 0) nl = it.bytes.length;
        add(it.bytes.subarray(at, nl));
        at = nl + 1;
      }
    }
    if (parts.length) out.push({ body: joinLines(parts), done: false });
    return out;
  }

  /** A retried request resumes after the HEC requests already accepted (kept on the request object). */
  async send(req: ExportRequest, signal: AbortSignal): Promise<void> {
    const requests = req.memo('hec', () => this.requestsFor(req.items));
    for (const r of requests) {
      if (r.done || r.ackId !== undefined) continue;
      r.ackId = await this.post(r.body, signal);
      if (r.ackId === undefined) r.done = true;
    }
    const due = requests.filter((r) => !r.done);
    if (due.length) await this.awaitAcks(due, signal);
  }

  /** Posts one request; returns its ackId when indexer acknowledgement is on and HEC gave one. */
  private async post(body: Buffer, signal: AbortSignal): Promise<number | undefined> {
    const payload = this.cfg.compression === 'gzip' ? await gzipAsync(body) : body;
    const res = await this.http.post(this.eventUrl, payload, this.headers, this.cfg.timeout, signal, 'HEC');
    if (!res.ok) throw hecError('HEC', res);
    if (!this.cfg.ack) return undefined;
    let ackId: unknown;
    try {
      ackId = (JSON.parse(res.text) as { ackId?: unknown }).ackId;
    } catch {
      ackId = undefined;
    }
    if (typeof ackId === 'number') return ackId;
    // Indexer acknowledgement is a property of the token: without it HEC answers 200 with no ackId,
    // and that 200 is all the confirmation there is.
    if (!this.noAckWarned) {
      this.noAckWarned = true;
      this.ctx.log.warn('ack: true, but HEC answered without an ackId (indexer acknowledgement is off for this token): a batch counts as delivered on HTTP 200');
    }
    return undefined;
  }

  /** Asks /services/collector/ack until every due request is acknowledged, or ack_timeout passes. */
  private async awaitAcks(due: HecRequest[], signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.cfg.ack_timeout;
    for (;;) {
      const ids = due.filter((r) => !r.done).map((r) => r.ackId!);
      const res = await this.http.post(this.ackUrl, JSON.stringify({ acks: ids }), this.ackHeaders, this.cfg.timeout, signal, 'HEC ack');
      if (!res.ok) throw hecError('HEC ack', res);
      let acks: Record<string, unknown> = {};
      try {
        acks = (JSON.parse(res.text) as { acks?: Record<string, unknown> }).acks ?? {};
      } catch {
        throw new RetryableError(`HEC ack: answer is not JSON: ${hecErrorText(res.text)}`);
      }
      for (const r of due) if (!r.done && acks[String(r.ackId)] === true) r.done = true;
      const left = due.filter((r) => !r.done);
      if (left.length === 0) return;
      if (Date.now() + this.cfg.ack_poll_interval > deadline) {
        // An ackId Splunk never confirms (an indexer restarted, the id expired) means the data may be
        // lost: send those requests again (HEC's delivery is at least once).
        for (const r of left) r.ackId = undefined;
        throw new RetryableError(`HEC ack: ${left.length} of ${due.length} request(s) not acknowledged within ${this.cfg.ack_timeout} ms; sending them again`);
      }
      await sleep(this.cfg.ack_poll_interval, undefined, { signal });
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

const NL = Buffer.from('\n');

function joinLines(parts: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out.push(NL);
    out.push(parts[i]!);
  }
  return Buffer.concat(out);
}

export const splunkHecSink: SinkFactory<SplunkHecConfig> = {
  type: 'splunk_hec',
  schema: splunkHecSchema,
  check: checkSplunkHec,
  create: (config, ctx) => new SplunkHecSink(config, ctx),
};
