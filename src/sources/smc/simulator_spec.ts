import type { SimulatorSpec } from '../../simulators/index.js';
import { SmcSimulator } from './simulator.js';

export const smcSimulatorSpec: SimulatorSpec = {
  vendor: 'smc',
  options: {
    port: { type: 'string', default: '8082' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string', default: 'demo-api-key' },
    nodes: { type: 'string', default: '2' },
    'status-ms': { type: 'string', default: '5000' },
    'change-ms': { type: 'string', default: '10000' },
    'session-ttl-ms': { type: 'string', default: '0' },
  },
  async start(v) {
    const sim = new SmcSimulator({
      host: String(v.host), port: Number(v.port), apiKey: String(v['api-key']), nodes: Number(v.nodes),
      statusEveryMs: Number(v['status-ms']), changeEveryMs: Number(v['change-ms']), sessionTtlMs: Number(v['session-ttl-ms']),
    });
    await sim.start();
    return { url: sim.url, stop: () => sim.stop() };
  },
};
