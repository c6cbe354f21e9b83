import { simulatorSpec } from './spec.js';
import { MistSimulator } from './mist.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export const mistSimulatorSpec = simulatorSpec('mist', {
  port: '8765', host: '127.0.0.1', token: 'demo-token', devices: '3', 'interval-ms': '1000', 'events-ms': '5000', 'rate-limit': '0', 'retry-after': '',
  // Repeatable: each names one channel answered subscribe_failed / never answered.
  'refuse-channel': [], 'silent-channel': [],
}, (v) => new MistSimulator({
  host: String(v.host), port: Number(v.port), token: String(v.token), devices: Number(v.devices),
  intervalMs: Number(v['interval-ms']), eventsEveryMs: Number(v['events-ms']),
  refuseChannels: strings(v['refuse-channel']), silentChannels: strings(v['silent-channel']),
  // --rate-limit N: the first N upgrades get 429 (with Retry-After when --retry-after S is given).
  ...(Number(v['rate-limit']) > 0
    ? { rateLimit: { upgrades: Number(v['rate-limit']), ...(v['retry-after'] ? { retryAfterS: Number(v['retry-after']) } : {}) } }
    : {}),
}));
