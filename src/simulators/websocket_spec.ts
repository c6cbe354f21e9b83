import type { SimulatorSpec } from './index.js';
import { GenericSimulator } from './websocket.js';

export const genericSimulatorSpec: SimulatorSpec = {
  vendor: 'websocket',
  options: {
    port: { type: 'string', default: '8767' },
    host: { type: 'string', default: '127.0.0.1' },
    username: { type: 'string', default: 'demo' },
    password: { type: 'string', default: 'demo-password' },
    auth: { type: 'string', default: 'bearer' },
    hosts: { type: 'string', default: '2' },
    'interval-ms': { type: 'string', default: '1000' },
    'idle-timeout-ms': { type: 'string', default: '30000' },
  },
  async start(v) {
    const auth = String(v.auth);
    if (auth !== 'bearer' && auth !== 'cookie' && auth !== 'url') throw new Error('--auth must be bearer, cookie or url');
    const sim = new GenericSimulator({
      host: String(v.host), port: Number(v.port), username: String(v.username), password: String(v.password), auth,
      hosts: Number(v.hosts), intervalMs: Number(v['interval-ms']), idleTimeoutMs: Number(v['idle-timeout-ms']),
    });
    await sim.start();
    return { url: `${sim.url} (login: POST ${sim.base}/api/login)`, stop: () => sim.stop() };
  },
};
