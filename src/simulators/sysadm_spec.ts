import { simulatorSpec } from './spec.js';
import { SysadmSimulator } from './sysadm.js';

export const sysadmSimulatorSpec = simulatorSpec('sysadm', {
  port: '12150', host: '127.0.0.1', username: 'monitor', password: 'demo-password', hostname: 'trueos-sim',
  'system-state-ms': '10000', 'life-preserver-ms': '5000', 'dispatcher-ms': '7000', 'idle-timeout-ms': String(30 * 60_000), 'faults-ms': '0', lockout: false,
  // Field behaviours, for trying a source against them: a short token life (a socket whose token
  // lapsed is closed), periodic restarts (every token forgotten), a bridge, a shifted zpool row.
  'token-ttl-ms': '0', 'restart-every-ms': '0', bridge: false, 'shifted-zpool': false,
}, (v) => new SysadmSimulator({
  host: String(v.host), port: Number(v.port), users: { [String(v.username)]: String(v.password) }, hostname: String(v.hostname),
  systemStateEveryMs: Number(v['system-state-ms']), lifePreserverEveryMs: Number(v['life-preserver-ms']),
  dispatcherEveryMs: Number(v['dispatcher-ms']), idleTimeoutMs: Number(v['idle-timeout-ms']), faultsEveryMs: Number(v['faults-ms']),
  // As a real server: 5 refused logins from one address in 10 minutes block it for an hour.
  ...(v.lockout ? { lockout: { attempts: 5, windowMs: 600_000, blockMs: 3_600_000 } } : {}),
  ...(Number(v['token-ttl-ms']) > 0 ? { tokenTtlMs: Number(v['token-ttl-ms']), closeOnTokenExpiry: true } : {}),
  restartEveryMs: Number(v['restart-every-ms']), bridge: Boolean(v.bridge), shiftedZpool: Boolean(v['shifted-zpool']),
}), (sim) => {
  process.stderr.write(`sysadm simulator: self-signed certificate in ${sim.certFile} (use it as tls.ca_file)\n`);
  return sim.url;
});
