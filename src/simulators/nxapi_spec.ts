import type { SimulatorSpec } from './index.js';
import { NxapiSimulator } from './nxapi.js';

export const nxapiSimulatorSpec: SimulatorSpec = {
  vendor: 'nxapi',
  options: {
    platform: { type: 'string', default: 'nxos' },
    port: { type: 'string', default: '8443' },
    host: { type: 'string', default: '127.0.0.1' },
    username: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'demo-password' },
    interfaces: { type: 'string', default: '4' },
    'interval-ms': { type: 'string', default: '1000' },
    'flap-ms': { type: 'string', default: '0' },
    'subscription-timeout-ms': { type: 'string', default: '0' },
    'max-results': { type: 'string', default: '0' },
    'token-lifetime-ms': { type: 'string', default: '600000' },
  },
  async start(v) {
    const platform = String(v.platform);
    if (platform !== 'nxos' && platform !== 'apic') throw new Error('--platform must be nxos or apic');
    const sim = new NxapiSimulator({
      platform, maxResults: Number(v['max-results']) || undefined,
      host: String(v.host), port: Number(v.port), username: String(v.username), password: String(v.password),
      interfaces: Number(v.interfaces), intervalMs: Number(v['interval-ms']), flapEveryMs: Number(v['flap-ms']),
      // 0: the platform's own (NX-OS 90 s, APIC 60 s).
      subscriptionTimeoutMs: Number(v['subscription-timeout-ms']) || undefined, tokenLifetimeMs: Number(v['token-lifetime-ms']),
    });
    await sim.start();
    return { url: sim.url, stop: () => sim.stop() };
  },
};
