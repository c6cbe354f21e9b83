import { simulatorSpec } from './spec.js';
import { NxapiSimulator } from './nxapi.js';

export const nxapiSimulatorSpec = simulatorSpec('nxapi', {
  platform: 'nxos', port: '8443', host: '127.0.0.1', username: 'admin', password: 'demo-password', interfaces: '4',
  'interval-ms': '1000', 'flap-ms': '0', 'subscription-timeout-ms': '0', 'max-results': '0', 'token-lifetime-ms': '600000',
}, (v) => {
  const platform = String(v.platform);
  if (platform !== 'nxos' && platform !== 'apic') throw new Error('--platform must be nxos or apic');
  return new NxapiSimulator({
    platform, maxResults: Number(v['max-results']) || undefined,
    host: String(v.host), port: Number(v.port), username: String(v.username), password: String(v.password),
    interfaces: Number(v.interfaces), intervalMs: Number(v['interval-ms']), flapEveryMs: Number(v['flap-ms']),
    // 0: the platform's own (NX-OS 90 s, APIC 60 s).
    subscriptionTimeoutMs: Number(v['subscription-timeout-ms']) || undefined, tokenLifetimeMs: Number(v['token-lifetime-ms']),
  });
});
