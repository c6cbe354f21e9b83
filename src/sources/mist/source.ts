import type WebSocket from 'ws';
import type { SourceContext, SourceFactory } from '../source.js';
import { SessionSource } from '../session_source.js';
import { briefJson } from '../../mapping/values.js';

import { selfMetrics } from '../../telemetry/metrics.js';
import { VERSION } from '../../version.js';
import { MistMapping, channelKind } from './mapping.js';
import { checkMist, mistSchema, type MistConfig } from './config.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';

/**
 * Juniper Mist's stream API: token at the upgrade, `{"subscribe": channel}` per channel, and `data`
 * frames whose payload is JSON inside a string.
 */
export class MistSource extends SessionSource {
  private readonly mapping: MistMapping;
  private readonly confirmed = new Set<string>();
  /** The channels asked for: only these are ever confirmed (a reply for any other is not ours). */
  private readonly requested: Set<string>;
  private readonly subs;

  constructor(private readonly cfg: MistConfig, ctx: SourceContext) {
    super(cfg, ctx);
    this.requested = new Set(cfg.channels);
    this.mapping = new MistMapping(cfg.name, cfg.metrics, cfg.resource, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
    this.subs = {
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
    };
  }

  async prepare() {
    return { url: this.cfg.url, headers: { Authorization: `Token ${this.cfg.token}` } };
  }

  onOpen(ws: WebSocket): void {
    for (const channel of this.cfg.channels) ws.send(JSON.stringify({ subscribe: channel }));
  }

  onClosed(): void {
    this.confirmed.clear();
    this.subs.active.set(0);
  }

  async onStop(ws: WebSocket | undefined): Promise<void> {
    if (!ws) return;
    for (const channel of this.confirmed) ws.send(JSON.stringify({ unsubscribe: channel }));
  }

  onFrame(data: Buffer): void {
    const receivedMs = Date.now();
    let msg: { event?: unknown; channel?: unknown; data?: unknown; detail?: unknown };
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    if (typeof msg !== 'object' || msg === null) return this.session.reject('malformed_json', { bytes: data.length });
    switch (msg.event) {
      case 'data':
        return this.onData(msg, receivedMs);
      case 'channel_subscribed': {
        // Only a channel we asked for: 20,000 replies for others must not grow the set or the gauge.
        const channel = typeof msg.channel === 'string' && this.requested.has(msg.channel) ? msg.channel : undefined;
        if (channel === undefined) return this.session.reject('unknown_channel', { event: 'channel_subscribed' });
        this.confirmed.add(channel);
        this.subs.active.set(this.confirmed.size);
        this.session.setEstablished();
        return;
      }
      case 'subscribe_failed': {
        const channel = typeof msg.channel === 'string' && this.requested.has(msg.channel) ? msg.channel : undefined;
        if (channel === undefined) return this.session.reject('unknown_channel', { event: 'subscribe_failed' });
        this.subs.failed.inc();
        // The rate-limit key holds only configured channels; the detail is logged short and flat.
        const detail = typeof msg.detail === 'string' ? msg.detail.slice(0, 500) : briefJson(msg.detail, 500);
        this.session.warn.warn(`subfail:${channel}`, { channel, detail }, 'Mist refused a subscription');
        return;
      }
      default:
        return this.session.reject('unknown_type', { event: typeof msg.event === 'string' ? msg.event : typeof msg.event });
    }
  }

  private onData(msg: { channel?: unknown; data?: unknown }, receivedMs: number): void {
    const channel = typeof msg.channel === 'string' ? msg.channel : '';
    if (typeof msg.data !== 'string' || channel === '') return this.session.reject('bad_data', { channel });
    // Mist pads some payloads with NUL bytes, which JSON.parse refuses.
    const text = msg.data.includes('\u0000') ? msg.data.replaceAll('\u0000', '') : msg.data;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return this.session.reject('malformed_data', { channel });
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return this.session.reject('bad_data', { channel });
    const p = payload as Record<string, unknown>;
    if (channelKind(channel) === 'stats') {
      const env = this.mapping.stats(channel, p, receivedMs);
      if (env.metrics.length === 0) return this.session.reject('unmapped', { channel });
      this.session.emit(env);
    } else {
      const envs = this.mapping.events(channel, p, receivedMs);
      // `{"events":[1,2]}` holds no event: counted like an empty stats frame, never silently gone.
      if (envs.length === 0) return this.session.reject('unmapped', { channel });
      for (const env of envs) this.session.emit(env);
    }
  }
}

export const mistSource: SourceFactory<MistConfig> = {
  type: 'mist',
  schema: mistSchema,
  check: checkMist,
  create: (config, ctx) => new MistSource(config, ctx),
};
