import type { Attributes } from '../../model.js';
import type { ConnectTarget, FrameInfo, Link, Meaning, Opening, Protocol } from '../protocol.js';
import type { SourceContext } from '../source.js';
import { sourceContext } from '../protocol_source.js';
import { DEFAULT_LIMITS, briefJson } from '../../mapping/values.js';
import { VERSION } from '../../version.js';
import { MistMapping, channelKind } from './mapping.js';
import { planChannels, type MistConfig } from './config.js';

export const subscribeFrame = (channel: string): string => JSON.stringify({ subscribe: channel });
export const unsubscribeFrame = (channel: string): string => JSON.stringify({ unsubscribe: channel });

/**
 * What a Mist stream frame means: token at the upgrade, `{"subscribe": channel}` per channel, one
 * `channel_subscribed` or `subscribe_failed` answer per channel (mistapi waits for each), and `data`
 * frames whose payload is JSON inside a string. No I/O: frames in, values out.
 */
export class MistProtocol implements Protocol {
  /** Each configured channel once, in the order first given. */
  readonly channels: readonly string[];
  /** The channels asked for: only these are ever acknowledged (a reply for any other is not ours). */
  private readonly requested: Set<string>;
  /** Channels Mist confirmed on this connection: unsubscribed at stop. */
  readonly confirmed = new Set<string>();
  private readonly mapping: MistMapping;

  constructor(private readonly cfg: MistConfig, context: SourceContext) {
    const ctx = sourceContext(cfg, context);
    const plan = planChannels(cfg.channels);
    // Said once at start: a config that lists a channel twice or crowds one connection is the user's to fix.
    for (const w of plan.warnings) ctx.log.warn({ source: cfg.name, duplicates: plan.duplicates.slice(0, 20) }, w);
    this.channels = plan.channels;
    this.requested = new Set(plan.channels);
    this.mapping = new MistMapping(cfg.name, cfg.metrics, cfg.resource, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits }, cfg.kind_metrics);
    // The token is a config-time secret: validateComponent put it in this source's scope already.
  }

  async connect(): Promise<ConnectTarget> {
    return { url: this.cfg.url, headers: { Authorization: `Token ${this.cfg.token}` } };
  }

  open(): Opening {
    return { send: this.channels.map(subscribeFrame), expect: [...this.channels] };
  }

  frame(value: unknown, info: FrameInfo): Meaning {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { rejects: [{ reason: 'malformed_json', detail: { bytes: info.bytes } }] };
    const msg = value as { event?: unknown; channel?: unknown; data?: unknown; detail?: unknown };
    switch (msg.event) {
      case 'data':
        return this.data(msg, info.receivedMs);
      case 'channel_subscribed': {
        // Only a channel we asked for: 20,000 replies for others must not grow the set or the gauge.
        const channel = this.ours(msg.channel);
        if (channel === undefined) return { rejects: [{ reason: 'unknown_channel', detail: { event: 'channel_subscribed' } }] };
        this.confirmed.add(channel);
        return { acks: [{ name: channel, ok: true }] };
      }
      case 'subscribe_failed': {
        const channel = this.ours(msg.channel);
        if (channel === undefined) return { rejects: [{ reason: 'unknown_channel', detail: { event: 'subscribe_failed' } }] };
        this.confirmed.delete(channel);
        // The vendor's words, short and flat: they reach /readyz and a log line.
        const detail = typeof msg.detail === 'string' ? msg.detail.slice(0, 500) : briefJson(msg.detail, 500);
        return { acks: [{ name: channel, ok: false, detail }] };
      }
      default:
        return { rejects: [{ reason: 'unknown_type', detail: { event: typeof msg.event === 'string' ? msg.event.slice(0, 64) : typeof msg.event } }] };
    }
  }

  /** A refused or unanswered channel, asked again on the session's slow schedule. */
  resubscribe(name: string): Meaning {
    return this.requested.has(name) ? { send: [subscribeFrame(name)] } : { control: true };
  }

  closed(): void {
    this.confirmed.clear();
  }

  async stop(link: Link | undefined): Promise<void> {
    if (!link) return;
    for (const channel of this.confirmed) link.send(unsubscribeFrame(channel));
  }

  resource(): Attributes {
    return { ...this.cfg.resource };
  }

  private ours(channel: unknown): string | undefined {
    return typeof channel === 'string' && this.requested.has(channel) ? channel : undefined;
  }

  private data(msg: { channel?: unknown; data?: unknown }, receivedMs: number): Meaning {
    const channel = typeof msg.channel === 'string' ? msg.channel : '';
    if (typeof msg.data !== 'string' || channel === '') return { rejects: [{ reason: 'bad_data', detail: { channel: channel.slice(0, 200) } }] };
    // An escaped \u0000 inside the string survives the frame's own NUL stripping; JSON.parse refuses it.
    const text = msg.data.includes('\u0000') ? msg.data.replaceAll('\u0000', '') : msg.data;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return { rejects: [{ reason: 'malformed_data', detail: { channel: channel.slice(0, 200) } }] };
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { rejects: [{ reason: 'bad_data', detail: { channel: channel.slice(0, 200) } }] };
    const p = payload as Record<string, unknown>;
    if (channelKind(channel) === 'stats') {
      const env = this.mapping.stats(channel, p, receivedMs);
      // No points: the one `unmapped` rule of the session.
      return env.metrics.length === 0 ? {} : { envelopes: [env] };
    }
    // `{"events":[1,2]}` holds no event: counted like an empty stats frame, never silently gone.
    const envs = this.mapping.events(channel, p, receivedMs);
    return envs.length === 0 ? {} : { envelopes: envs };
  }
}
