import type { SimulatorSpec } from '../../simulators/index.js';
import { NxapiSimulator } from './simulator.js';

export const nxapiSimulatorSpec: SimulatorSpec = {
  vendor: 'nxapi',
  options: {
    port: { type: 'string', default: '8443' },
    host: { type: 'string', default: '127.0.0.1' },
    username: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'demo-password' },
    interfaces: { type: 'string', default: '4' },
    'interval-ms': { type: 'string', default: '1000' },
    'flap-ms': { type: 'string', default: '0' },
    'subscription-timeout-ms': { type: 'string', default: '90000' },
    'token-lifetime-ms': { type: 'string', default: '600000' },
  },
  async start(v) {
    const sim = new NxapiSimulator({
      host: String(v.host), port: Number(v.port), username: String(v.username), password: String(v.password),
      interfaces: Number(v.interfaces), intervalMs: Number(v['interval-ms']), flapEveryMs: Number(v['flap-ms']),
      subscriptionTimeoutMs: Number(v['subscription-timeout-ms']), tokenLifetimeMs: Number(v['token-lifetime-ms']),
    });
    await sim.start();
    return { url: sim.url, stop: () => sim.stop() };
  },
};
