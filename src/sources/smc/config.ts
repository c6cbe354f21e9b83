import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';

/** One `type: smc` entry of `sources:`. */
export interface SmcConfig extends CommonSourceConfig {
  url: string;
  api_key: string;
  domain: string;
  api_version: string;
  contexts: string[];
  elements: string[];
  status_contexts: string[];
  notification_path: string;
  status_path: string;
  status_repeat_interval: number;
}

export function smcSchema(): convict.Schema<SmcConfig> {
  return {
    // The SMC may send nothing for about two minutes: silence is not death, a missing pong is.
    ...commonSourceSchema('smc', { interval: '30s', timeout: '30s' }),
    url: {
      doc: 'Base URL of the SMC API (http://smc:8082 or https://smc:8082); the sockets use ws:// or wss:// to match',
      format: 'http-url',
      default: '',
    },
    api_key: { doc: 'API client authentication key, sent in the login body (or api_key_file)', format: 'required-string', default: '', sensitive: true },
    domain: { doc: 'Administrative domain to log in to (empty: the Shared Domain)', format: String, default: '' },
    api_version: { doc: 'API version such as 7.1, used when GET {url}/api lists it (else, or when empty: the newest listed, with a warning)', format: String, default: '' },
    contexts: {
      doc: 'Notification socket subscriptions, one {"context": …} each: "*" for all elements, or RelNames such as "host, router"',
      format: Array,
      default: ['*'],
    },
    elements: {
      doc: 'Status socket subscriptions, one {"element": href} each: hrefs of engines, nodes, VPNs, tunnels, servers',
      format: Array,
      default: [],
    },
    status_contexts: {
      doc: 'Status socket subscriptions for whole element families, one {"context": type} each: element types such as fw_single or virtual_fw (at most 100)',
      format: Array,
      default: [],
    },
    notification_path: { doc: 'Path of the notification socket; {version} is replaced', format: String, default: '/{version}/notification/socket' },
    status_path: { doc: 'Path of the status socket; {version} is replaced', format: String, default: '/{version}/status/socket' },
    status_repeat_interval: {
      doc: 'The SMC sends a status only when it changes: re-emit each element\'s last status this often while its subscription is live, so that gauges do not go stale (0: never)',
      format: 'duration',
      default: '60s' as unknown as number,
    },
  };
}

/** Each family subscription may stand for thousands of elements: a hundred families is already a lot. */
const MAX_STATUS_CONTEXTS = 100;

export function checkSmc(c: SmcConfig): string[] {
  const problems: string[] = [];
  if (c.contexts.length === 0 && c.elements.length === 0 && c.status_contexts.length === 0) {
    problems.push('contexts: nothing to subscribe (give contexts, elements or status_contexts)');
  }
  c.contexts.forEach((ctx, i) => {
    if (typeof ctx !== 'string') problems.push(`contexts[${i}]: must be a string such as "*" or "host, router"`);
  });
  c.elements.forEach((href, i) => {
    if (typeof href !== 'string' || !/^https?:\/\/.+\/elements\//.test(href)) problems.push(`elements[${i}]: must be an element href (http(s)://…/elements/…)`);
  });
  if (c.status_contexts.length > MAX_STATUS_CONTEXTS) problems.push(`status_contexts: at most ${MAX_STATUS_CONTEXTS} element types`);
  c.status_contexts.forEach((type, i) => {
    // One element type per command: the guide shows no list form for the status socket.
    if (typeof type !== 'string' || !/^[a-z][a-z0-9_]*$/.test(type)) problems.push(`status_contexts[${i}]: must be one element type such as fw_single or virtual_fw`);
  });
  if (c.api_version && !/^\d+(\.\d+)*$/.test(c.api_version)) problems.push('api_version: must look like 7.1 (or be empty to use the newest)');
  for (const key of ['notification_path', 'status_path'] as const) {
    if (!c[key].startsWith('/')) problems.push(`${key}: must start with /`);
  }
  return problems;
}
