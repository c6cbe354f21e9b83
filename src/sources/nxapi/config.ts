import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';
import { checkRange } from '../../config/formats.js';

/** One `type: nxapi` entry of `sources:`. */
export interface NxapiConfig extends CommonSourceConfig {
  url: string;
  username: string;
  password: string;
  queries: string[];
  subscription_refresh_interval: number;
  token_refresh_interval: number;
  request_timeout: number;
}

/** `/api/mo/<dn>.json` or `/api/class/<class>.json` (APIC also `/api/node/...`), with options after `?`. */
export const QUERY_RE = /^\/api\/(?:node\/)?(mo|class)\/([^?]+)\.json(?:\?(.*))?$/;

/** A metric rule's path on this source: `<class>.attributes.<attribute>`, the class may be `*`. */
export const RULE_PATH_RE = /^([A-Za-z*][A-Za-z0-9]*)\.attributes\.([A-Za-z][A-Za-z0-9]*)$/;

export function nxapiSchema(): convict.Schema<NxapiConfig> {
  return {
    // NX-OS' nginx answers WebSocket pings; a switch that stops answering for 20 s is gone.
    ...commonSourceSchema('nxapi', { interval: '30s', timeout: '20s' }),
    url: {
      doc: 'The switch\'s NX-API REST base URL, e.g. https://switch1.example.net (the socket is ws[s]://<same host>/socket<token>)',
      format: 'http-url',
      default: 'https://127.0.0.1',
    },
    username: { doc: 'NX-API user (aaaLogin name)', format: 'required-string', default: '' },
    password: { doc: 'NX-API password (aaaLogin pwd), or password_file', format: 'required-string', default: '', sensitive: true },
    queries: {
      doc: 'REST queries to subscribe to, e.g. /api/class/rmonIfIn.json or /api/mo/sys/intf/phys-[eth1/1].json; ?subscription=yes is added',
      format: 'nonempty-strings',
      default: [],
    },
    subscription_refresh_interval: {
      doc: 'How often each subscription is refreshed (subscriptionRefresh); the switch drops it after 90 s (APIC: 60 s) without one',
      format: 'duration',
      default: '30s' as unknown as number,
    },
    token_refresh_interval: {
      doc: 'How often the session token is refreshed (aaaRefresh); 0 means half of the refreshTimeoutSeconds the login returned',
      format: 'duration',
      default: 0,
    },
    request_timeout: { doc: 'Timeout of one REST call (login, subscribe, refresh)', format: 'duration', default: '10s' as unknown as number },
  };
}

export function checkNxapi(c: NxapiConfig): string[] {
  const problems: string[] = [];
  c.queries.forEach((q, i) => {
    const m = QUERY_RE.exec(q);
    if (!m) problems.push(`queries[${i}]: must look like /api/class/<class>.json or /api/mo/<dn>.json`);
    else if (/(^|&)subscription=/.test(m[3] ?? '')) problems.push(`queries[${i}]: leave out subscription=: ws2otel adds subscription=yes`);
  });
  if (new Set(c.queries).size !== c.queries.length) problems.push('queries: each query may appear only once');
  if (c.subscription_refresh_interval <= 0) problems.push('subscription_refresh_interval: must be greater than 0');
  // A zero time limit fails every login, which then repeats at the reconnect pace.
  checkRange(problems, 'request_timeout', c.request_timeout, 100, Infinity, ' ms');
  if (c.subscription_refresh_interval > 60_000) {
    problems.push('subscription_refresh_interval: must be at most 60s (APIC drops a subscription after 60 s, NX-OS after 90 s)');
  }
  c.metrics.forEach((r, i) => {
    if (!RULE_PATH_RE.test(r.path)) problems.push(`metrics[${i}].path: must be <class>.attributes.<attribute>, e.g. rmonIfIn.attributes.octets`);
  });
  return problems;
}
