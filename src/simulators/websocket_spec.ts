import { simulatorSpec } from './spec.js';
import { GenericSimulator } from './websocket.js';

export const genericSimulatorSpec = simulatorSpec('websocket', {
  port: '8767', host: '127.0.0.1', username: 'demo', password: 'demo-password', auth: 'bearer', hosts: '2', 'interval-ms': '1000', 'idle-timeout-ms': '30000',
}, (v) => {
  const auth = String(v.auth);
  if (auth !== 'bearer' && auth !== 'cookie' && auth !== 'url') throw new Error('--auth must be bearer, cookie or url');
  return new GenericSimulator({
    host: String(v.host), port: Number(v.port), username: String(v.username), password: String(v.password), auth,
    hosts: Number(v.hosts), intervalMs: Number(v['interval-ms']), idleTimeoutMs: Number(v['idle-timeout-ms']),
  });
}, (sim) => `${sim.url} (login: POST ${sim.base}/api/login)`);
