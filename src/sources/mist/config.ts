import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig, checkCommon } from '../source.js';

/** One `type: mist` entry of `sources:`. */
export interface MistConfig extends CommonSourceConfig {
  url: string;
  token: string;
  channels: string[];
}

export function mistSchema(): convict.Schema<MistConfig> {
  return {
    // Mist asks clients to ping every 60 s and to call a socket dead after 45 s without a pong.
    ...commonSourceSchema('mist', { interval: '60s', timeout: '45s' }),
    url: {
      doc: 'Stream endpoint: the REST host with api. replaced by api-ws. (api-ws.eu.mist.com, api-ws.gc1.mist.com, …)',
      format: 'ws-url',
      default: 'wss://api-ws.mist.com/api-ws/v1/stream',
    },
    token: { doc: 'API token, sent as `Authorization: Token <token>` (or token_file)', format: 'required-string', default: '', sensitive: true },
    channels: {
      doc: 'Channels to subscribe, e.g. /sites/<site_id>/stats/devices (at most 2,000 per connection)',
      format: 'nonempty-strings',
      default: [],
    },
  };
}

export function checkMist(c: MistConfig): string[] {
  const problems: string[] = [];
  problems.push(...checkCommon(c));
  if (c.channels.length > 2000) problems.push('channels: Mist allows at most 2000 channels per connection');
  c.channels.forEach((ch, i) => {
    if (!ch.startsWith('/sites/') && !ch.startsWith('/orgs/')) problems.push(`channels[${i}]: must start with /sites/ or /orgs/`);
  });
  return problems;
}
