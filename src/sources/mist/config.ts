import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';
import { checkMetricRule } from '../../config/formats.js';
import type { MetricRule } from '../../mapping/rules.js';
import { STATS_KINDS, type StatsKind } from './mapping.js';

/** One `type: mist` entry of `sources:`. */
export interface MistConfig extends CommonSourceConfig {
  url: string;
  token: string;
  channels: string[];
  /** Overrides per `/stats/` kind other than devices (whose overrides are `metrics`, as for every vendor). */
  kind_metrics: Partial<Record<Exclude<StatsKind, 'devices'>, MetricRule[]>>;
}

/** Mist's own limit per connection. */
export const MAX_CHANNELS = 2000;
/** Above this, one connection is close to Mist's limit: another source entry is the way to grow. */
export const WARN_CHANNELS = 1500;

export function mistSchema(): convict.Schema<MistConfig> {
  // Mist asks clients to ping every 60 s and to call a socket dead after 45 s without a pong.
  const common = commonSourceSchema('mist', { interval: '60s', timeout: '45s' });
  return {
    ...common,
    // mistapi waits about 10 s for every channel's channel_subscribed / subscribe_failed.
    subscribe_timeout: { ...(common.subscribe_timeout as object), default: '10s' as unknown as number },
    url: {
      doc: 'Stream endpoint: the REST host with api. replaced by api-ws. (api-ws.eu.mist.com, api-ws.gc1.mist.com, …)',
      format: 'ws-url',
      default: 'wss://api-ws.mist.com/api-ws/v1/stream',
    },
    token: { doc: 'API token, sent as `Authorization: Token <token>` (or token_file)', format: 'required-string', default: '', sensitive: true },
    channels: {
      doc: 'Channels to subscribe, e.g. /sites/<site_id>/stats/devices (at most 2,000 per connection; duplicates are subscribed once)',
      format: 'nonempty-strings',
      default: [],
    },
    kind_metrics: {
      doc: 'Per /stats/ kind (clients, mxedges, map_clients, unconnected_clients, sdkclients, assets, discovered_assets): rules that add to or override that kind\'s table, as `metrics` does for devices',
      format: 'opaque-map',
      default: {},
    },
  };
}

/** The channels as subscribed: each once, in the order first given; and what the config should hear about it. */
export function planChannels(channels: readonly string[]): { channels: string[]; duplicates: string[]; warnings: string[] } {
  const unique = [...new Set(channels)];
  const seen = new Set<string>();
  const duplicates = [...new Set(channels.filter((ch) => seen.has(ch) || !seen.add(ch)))];
  const warnings: string[] = [];
  if (duplicates.length) warnings.push(`channels: ${duplicates.length} listed more than once; each is subscribed once`);
  if (unique.length > WARN_CHANNELS) {
    warnings.push(`channels: ${unique.length} on one connection, close to Mist's limit of ${MAX_CHANNELS}; split them across another source entry`);
  }
  return { channels: unique, duplicates, warnings };
}

const OVERRIDABLE = STATS_KINDS.filter((k) => k !== 'devices');

export function checkMist(c: MistConfig): string[] {
  const problems: string[] = [];
  // Counted as subscribed: a channel listed twice is one subscription.
  if (new Set(c.channels).size > MAX_CHANNELS) problems.push(`channels: Mist allows at most ${MAX_CHANNELS} channels per connection`);
  c.channels.forEach((ch, i) => {
    if (!ch.startsWith('/sites/') && !ch.startsWith('/orgs/')) problems.push(`channels[${i}]: must start with /sites/ or /orgs/`);
  });
  for (const [kind, rules] of Object.entries(c.kind_metrics)) {
    if (kind === 'devices') {
      problems.push('kind_metrics.devices: the devices table is overridden by `metrics`');
      continue;
    }
    if (!(OVERRIDABLE as readonly string[]).includes(kind)) {
      problems.push(`kind_metrics.${kind}: unknown kind (allowed: ${OVERRIDABLE.join(', ')})`);
      continue;
    }
    if (!Array.isArray(rules)) {
      problems.push(`kind_metrics.${kind}: must be a list of {path, metric, unit, type} rules`);
      continue;
    }
    rules.forEach((r, i) => {
      try {
        checkMetricRule(r, `kind_metrics.${kind}[${i}]`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    });
  }
  return problems;
}
