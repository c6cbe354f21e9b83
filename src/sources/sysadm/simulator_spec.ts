import type { SimulatorSpec } from '../../simulators/index.js';
import { SysadmSimulator } from './simulator.js';

export const sysadmSimulatorSpec: SimulatorSpec = {
  vendor: 'sysadm',
  options: {
    port: { type: 'string', default: '12150' },
    host: { type: 'string', default: '127.0.0.1' },
    username: { type: 'string', default: 'monitor' },
    password: { type: 'string', default: 'demo-password' },
    hostname: { type: 'string', default: 'trueos-sim' },
    'system-state-ms': { type: 'string', default: '10000' },
    'life-preserver-ms': { type: 'string', default: '5000' },
    'dispatcher-ms': { type: 'string', default: '7000' },
    'idle-timeout-ms': { type: 'string', default: String(30 * 60_000) },
    'faults-ms': { type: 'string', default: '0' },
    lockout: { type: 'boolean', default: false },
  },
  async start(v) {
    const sim = new SysadmSimulator({
      host: String(v.host), port: Number(v.port), users: { [String(v.username)]: String(v.password) }, hostname: String(v.hostname),
      systemStateEveryMs: Number(v['system-state-ms']), lifePreserverEveryMs: Number(v['life-preserver-ms']),
      dispatcherEveryMs: Number(v['dispatcher-ms']), idleTimeoutMs: Number(v['idle-timeout-ms']), faultsEveryMs: Number(v['faults-ms']),
      // As a real server: 5 refused logins from one address in 10 minutes block it for an hour.
      ...(v.lockout ? { lockout: { attempts: 5, windowMs: 600_000, blockMs: 3_600_000 } } : {}),
    });
    await sim.start();
    process.stderr.write(`sysadm simulator: self-signed certificate in ${sim.certFile} (use it as tls.ca_file)\n`);
    return { url: sim.url, stop: () => sim.stop() };
  },
};
