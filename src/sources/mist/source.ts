import type WebSocket from 'ws';
import type { SourceContext, SourceFactory, SourceStatus } from '../source.js';
import type { Link, Meaning } from '../protocol.js';
import { SessionSource } from '../session_source.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { VERSION } from '../../version.js';
import { MistMapping } from './mapping.js';
import { MistProtocol } from './protocol.js';
import { checkMist, mistSchema, planChannels, type MistConfig } from './config.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';

/**
 * Juniper Mist's stream API on the socket session: MistProtocol says what each frame meant, this class
 * acts on it (emit, count, track subscriptions).
 */
export class MistSource extends SessionSource {
  readonly protocol: MistProtocol;
  private readonly subs;
  /** Channels Mist refused on this connection, with its words: shown by name in status() (/readyz). */
  private readonly refused = new Map<string, string>();

  constructor(cfg: MistConfig, ctx: SourceContext) {
    super(cfg, ctx);
    const plan = planChannels(cfg.channels);
    for (const w of plan.warnings) ctx.log.warn({ source: cfg.name, duplicates: plan.duplicates.slice(0, 20) }, w);
    const mapping = new MistMapping(cfg.name, cfg.metrics, cfg.resource, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits }, cfg.kind_metrics);
    this.protocol = new MistProtocol({ url: cfg.url, token: cfg.token, channels: plan.channels, resource: cfg.resource }, mapping);
    this.subs = {
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
    };
  }

  // Mist has no login: the token goes in the upgrade.
  prepare() {
    return this.protocol.connect();
  }

  onOpen(ws: WebSocket): void {
    const opening = this.protocol.open();
    for (const text of opening.send ?? []) ws.send(text);
  }

  override status(): SourceStatus {
    const st = super.status();
    if (this.refused.size === 0) return st;
    const names = [...this.refused].slice(0, 10).map(([ch, why]) => `${ch} (${why})`).join(', ');
    return { ...st, detail: `${st.detail}; refused: ${names}${this.refused.size > 10 ? `, +${this.refused.size - 10} more` : ''}` };
  }

  onClosed(): void {
    this.refused.clear();
    this.protocol.closed();
    this.subs.active.set(0);
  }

  async onStop(ws: WebSocket | undefined): Promise<void> {
    await this.protocol.stop(ws ? this.link(ws) : undefined);
  }

  onFrame(data: Buffer, ws: WebSocket): void {
    const receivedMs = Date.now();
    // Mist pads frames with NUL bytes, outside `data` as well as in it (mistapi strips the whole frame).
    const raw = data.toString('utf8');
    const text = raw.includes('\u0000') ? raw.replaceAll('\u0000', '') : raw;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    this.apply(this.protocol.frame(value, { bytes: data.length, receivedMs }), ws);
  }

  private link(ws: WebSocket): Link {
    return { send: (t) => ws.send(t), deliver: (m) => this.apply(m, ws), signal: new AbortController().signal };
  }

  private apply(m: Meaning, ws: WebSocket): void {
    for (const r of m.rejects ?? []) this.session.reject(r.reason, r.detail);
    for (const env of m.envelopes ?? []) this.session.emit(env);
    for (const ack of m.acks ?? []) {
      if (ack.ok) {
        this.refused.delete(ack.name);
        this.subs.active.set(this.protocol.confirmed.size);
        this.session.setEstablished();
      } else {
        this.subs.failed.inc();
        this.refused.set(ack.name, (ack.detail ?? '').slice(0, 100));
        this.subs.active.set(this.protocol.confirmed.size);
        this.session.warn.warn(`subfail:${ack.name}`, { channel: ack.name, detail: ack.detail }, 'Mist refused a subscription');
      }
    }
    for (const text of m.send ?? []) ws.send(text);
    if (!m.envelopes?.length && !m.rejects?.length && !m.acks?.length && !m.send?.length && !m.control) this.session.reject('unmapped', {});
  }
}

export const mistSource: SourceFactory<MistConfig> = {
  type: 'mist',
  schema: mistSchema,
  check: checkMist,
  create: (config, ctx) => new MistSource(config, ctx),
};
