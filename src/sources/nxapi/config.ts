import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';
import { checkHttpUrl, checkRange } from '../../config/formats.js';

/** One `type: nxapi` entry of `sources:`. */
export interface NxapiConfig extends CommonSourceConfig {
  url: string;
  /** Controllers of one APIC cluster (or one switch), tried in turn: each attempt after a failure moves to the next. */
  urls: string[];
  platform: 'nxos' | 'apic';
  username: string;
  password: string;
  queries: string[];
  subscription_refresh_interval: number;
  subscription_refresh_timeout: number;
  page_size: number;
  token_refresh_interval: number;
  request_timeout: number;
}

/** The deadline a subscription gets when no refresh-timeout is sent: APIC's 60 s (NX-OS says 90 s). */
export const DEFAULT_SUBSCRIPTION_TIMEOUT_MS = 60_000;
/** APIC's refresh-timeout when none is configured: ansible-aci's event source sends 300 s, refreshed at half. */
export const APIC_REFRESH_TIMEOUT_MS = 300_000;
/**
 * The largest refresh-timeout ws2otel sends. No source we have states the platforms' maximum; 1800 s is
 * what aci-containers sends by default, so APIC accepts at least that much.
 */
export const MAX_REFRESH_TIMEOUT_MS = 1_800_000;

/** The refresh-timeout sent on subscribe (ms, whole seconds), or 0: none is sent and the platform's own deadline holds. */
export function refreshTimeoutMs(c: Pick<NxapiConfig, 'platform' | 'subscription_refresh_timeout'>): number {
  if (c.subscription_refresh_timeout > 0) return c.subscription_refresh_timeout;
  // NX-OS documents only its fixed 90 s; whether it honours refresh-timeout is unconfirmed, so it gets none.
  return c.platform === 'apic' ? APIC_REFRESH_TIMEOUT_MS : 0;
}

/** How often each subscription is refreshed: as configured, else at half of its deadline. */
export function refreshIntervalMs(c: Pick<NxapiConfig, 'platform' | 'subscription_refresh_timeout' | 'subscription_refresh_interval'>): number {
  if (c.subscription_refresh_interval > 0) return c.subscription_refresh_interval;
  return (refreshTimeoutMs(c) || DEFAULT_SUBSCRIPTION_TIMEOUT_MS) / 2;
}

/** The controllers to try, in order: `urls`, or the one `url`. */
export function controllersOf(c: Pick<NxapiConfig, 'url' | 'urls'>): string[] {
  // urls may be absent from a config built without the schema (tests, embedders): url alone then.
  return c.urls?.length ? c.urls : [c.url];
}

/** `/api/mo/<dn>.json` or `/api/class/<class>.json` (APIC also `/api/node/...`), with options after `?`. */
export const QUERY_RE = /^\/api\/(?:node\/)?(mo|class)\/([^?]+)\.json(?:\?(.*))?$/;

/** A metric rule's path on this source: `<class>.attributes.<attribute>`, the class may be `*`. */
export const RULE_PATH_RE = /^([A-Za-z*][A-Za-z0-9]*)\.attributes\.([A-Za-z][A-Za-z0-9]*)$/;

/** A convict format: a list (maybe empty) of http(s) URLs without credentials. */
function httpUrls(v: unknown): void {
  if (!Array.isArray(v)) throw new Error('must be a list of http:// or https:// URLs');
  v.forEach((u, i) => {
    try {
      checkHttpUrl(u);
    } catch (err) {
      throw new Error(`[${i}] ${(err as Error).message}`);
    }
  });
}

export function nxapiSchema(): convict.Schema<NxapiConfig> {
  return {
    // NX-OS' nginx answers WebSocket pings; a switch that stops answering for 20 s is gone.
    ...commonSourceSchema('nxapi', { interval: '30s', timeout: '20s' }),
    url: {
      doc: 'The switch\'s (or APIC\'s) REST base URL, e.g. https://switch1.example.net (the socket is ws[s]://<same host>/socket<token>); or give urls',
      format: 'optional-http-url',
      default: '',
    },
    urls: {
      doc: 'The controllers of an APIC cluster, e.g. [https://apic1, https://apic2]: each connection attempt after a failure moves to the next',
      format: httpUrls,
      default: [],
    },
    platform: {
      doc: 'nxos (a Nexus switch: aaaRefresh is a POST) or apic (an APIC controller: aaaRefresh is a GET, subscriptions get refresh-timeout=300)',
      format: ['nxos', 'apic'],
      default: 'nxos',
    },
    username: { doc: 'NX-API user (aaaLogin name)', format: 'required-string', default: '' },
    password: { doc: 'NX-API password (aaaLogin pwd), or password_file', format: 'required-string', default: '', sensitive: true },
    queries: {
      doc: 'REST queries to subscribe to, e.g. /api/class/rmonIfIn.json or /api/mo/sys/intf/phys-[eth1/1].json; ?subscription=yes is added',
      format: 'nonempty-strings',
      default: [],
    },
    subscription_refresh_interval: {
      doc: 'How often each subscription is refreshed (subscriptionRefresh); 0 means half of its deadline (the refresh-timeout sent, else 60 s)',
      format: 'duration',
      default: 0,
    },
    subscription_refresh_timeout: {
      doc: 'The refresh-timeout sent with each subscribe (1s to 30m, whole seconds); 0 means the platform\'s choice: apic 300s, nxos none (the switch\'s fixed 90 s)',
      format: 'duration',
      default: 0,
    },
    page_size: {
      doc: 'Objects per page when a query is refused as "result dataset is too big" (page and page-size, as acitoolkit does)',
      format: 'nat',
      default: 10_000,
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
  if (c.url === '' && c.urls.length === 0) problems.push('url: is required (or give urls)');
  if (c.url !== '' && c.urls.length > 0) problems.push('urls: give url or urls, not both');
  if (new Set(c.urls).size !== c.urls.length) problems.push('urls: each controller may appear only once');
  // A zero time limit fails every login, which then repeats at the reconnect pace.
  checkRange(problems, 'request_timeout', c.request_timeout, 100, Infinity, ' ms');
  const sent = c.subscription_refresh_timeout;
  if (sent !== 0) {
    checkRange(problems, 'subscription_refresh_timeout', sent, 1000, MAX_REFRESH_TIMEOUT_MS, ' ms');
    if (sent % 1000 !== 0) problems.push('subscription_refresh_timeout: must be whole seconds (it is sent as refresh-timeout=<s>)');
  }
  const deadline = refreshTimeoutMs(c) || DEFAULT_SUBSCRIPTION_TIMEOUT_MS;
  if (c.subscription_refresh_interval !== 0) {
    // 0 would refresh nonstop; past the deadline every subscription lapses before its refresh.
    checkRange(problems, 'subscription_refresh_interval', c.subscription_refresh_interval, 100, Infinity, ' ms');
    if (c.subscription_refresh_interval > deadline) {
      problems.push(`subscription_refresh_interval: must be at most ${deadline / 1000}s (the subscription deadline: the refresh-timeout sent, else APIC's 60 s)`);
    }
  }
  checkRange(problems, 'page_size', c.page_size, 1, 100_000);
  c.metrics.forEach((r, i) => {
    if (!RULE_PATH_RE.test(r.path)) problems.push(`metrics[${i}].path: must be <class>.attributes.<attribute>, e.g. rmonIfIn.attributes.octets`);
  });
  return problems;
}
