import type { SimulatorSpec } from './index.js';
import { MistSimulator } from './mist.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export const mistSimulatorSpec: SimulatorSpec = {
  vendor: 'mist',
  options: {
    port: { type: 'string', default: '8765' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string', default: 'demo-token' },
    devices: { type: 'string', default: '3' },
    'interval-ms': { type: 'string', default: '1000' },
    'events-ms': { type: 'string', default: '5000' },
    'rate-limit': { type: 'string', default: '0' },
    'retry-after': { type: 'string', default: '' },
    // Repeatable: each names one channel answered subscribe_failed / never answered.
    'refuse-channel': { type: 'string', multiple: true, default: [] },
    'silent-channel': { type: 'string', multiple: true, default: [] },
  },
  async start(v) {
    const sim = new MistSimulator({
      host: String(v.host), port: Number(v.port), token: String(v.token), devices: Number(v.devices),
      intervalMs: Number(v['interval-ms']), eventsEveryMs: Number(v['events-ms']),
      refuseChannels: strings(v['refuse-channel']), silentChannels: strings(v['silent-channel']),
      // --rate-limit N: the first N upgrades get 429 (with Retry-After when --retry-after S is given).
      ...(Number(v['rate-limit']) > 0
        ? { rateLimit: { upgrades: Number(v['rate-limit']), ...(v['retry-after'] ? { retryAfterS: Number(v['retry-after']) } : {}) } }
        : {}),
    });
    await sim.start();
    return { url: sim.url, stop: () => sim.stop() };
  },
};
