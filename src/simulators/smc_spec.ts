import { simulatorSpec } from './spec.js';
import { SmcSimulator, type SessionMode } from './smc.js';

export const smcSimulatorSpec = simulatorSpec('smc', {
  port: '8082', host: '127.0.0.1', 'api-key': 'demo-api-key', nodes: '2', 'virtual-engines': '2', 'status-ms': '5000', 'change-ms': '10000', 'session-ttl-ms': '0',
  // cookie: a JSESSIONID cookie; ssl: the SMC tracks sessions by SSL session (an Authorization token).
  'session-mode': 'cookie',
  // The API versions GET /api lists; paths under any other version answer 404.
  versions: '6.5,6.10,7.1,7.2',
}, (v) => {
  const mode = String(v['session-mode']);
  if (mode !== 'cookie' && mode !== 'ssl') throw new Error(`--session-mode: must be cookie or ssl, not ${mode}`);
  const versions = String(v.versions).split(',').map((x) => x.trim()).filter(Boolean);
  if (versions.length === 0 || versions.some((x) => !/^\d+(\.\d+)*$/.test(x))) throw new Error('--versions: a comma-separated list such as 6.10,7.1,7.2');
  return new SmcSimulator({
    host: String(v.host), port: Number(v.port), apiKey: String(v['api-key']), nodes: Number(v.nodes), virtualEngines: Number(v['virtual-engines']),
    statusEveryMs: Number(v['status-ms']), changeEveryMs: Number(v['change-ms']), sessionTtlMs: Number(v['session-ttl-ms']),
    sessionMode: mode as SessionMode, versions,
  });
});
