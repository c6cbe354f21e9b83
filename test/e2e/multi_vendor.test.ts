import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Collector } from '../helpers/collector.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { simulators } from '../../src/simulators/index.js';

// Four vendors in one daemon; SMC's API key is wrong. The other three must deliver regardless, the
// failure must be counted and visible on /readyz, and no credential may reach a log line.

const SECRETS = { mist: 'demo-token', smc: 'wrong-api-key-0042', nxapi: 'demo-password', sysadm: 'demo-password' };

async function startSim(vendor: string, over: Record<string, string> = {}) {
  const spec = simulators[vendor]!;
  const defaults = Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, o.default]));
  return spec.start({ ...defaults, port: '0', ...over });
}

describe('several vendors in one daemon, one failing auth', () => {
  const collector = new Collector();
  const sims: { url: string; stop(): Promise<void> }[] = [];
  let daemon: DaemonProcess;

  before(async () => {
    await collector.start();
    const [mist, smc, nxapi, sysadm] = await Promise.all([
      startSim('mist', { 'interval-ms': '200' }), startSim('smc', { 'status-ms': '300' }),
      startSim('nxapi', { 'interval-ms': '300' }), startSim('sysadm', { 'system-state-ms': '300' }),
    ]);
    sims.push(mist!, smc!, nxapi!, sysadm!);
    daemon = new DaemonProcess({
      log_level: 'debug',
      sources: [
        { name: 'mist', type: 'mist', url: mist!.url, token: SECRETS.mist, channels: ['/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices'] },
        { name: 'smc', type: 'smc', url: smc!.url, api_key: SECRETS.smc, contexts: ['*'], reconnect: { initial_interval: '100ms', max_interval: '500ms' }, auth_retry: { initial_interval: '1s', max_interval: '1s' } },
        { name: 'nxapi', type: 'nxapi', url: nxapi!.url, username: 'admin', password: SECRETS.nxapi, queries: ['/api/class/rmonIfIn.json'] },
        { name: 'sysadm', type: 'sysadm', url: sysadm!.url, username: 'monitor', password: SECRETS.sysadm, events: ['system-state'], tls: { insecure_skip_verify: true } },
      ],
      sinks: [{ name: 'collector', type: 'otlp_http', endpoint: collector.endpoint, batch: { max_events: 50, timeout: '100ms' } }],
    });
    await daemon.start();
  });

  after(async () => {
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
    await collector.stop();
  });

  it('delivers the three healthy vendors while the fourth keeps failing auth', async () => {
    await waitFor('metrics of mist, nxapi and sysadm', () => {
      const scopes = new Set(collector.points().map((p) => p.name.split('.')[0]));
      return scopes.has('mist') && scopes.has('nxapi') && scopes.has('sysadm');
    }, 60_000);
    assert.equal(collector.points().filter((p) => p.name.startsWith('smc.')).length, 0);
    await waitFor('several SMC auth failures', async () => (await daemon.metric('ws2otel_source_auth_failures_total', { source: 'smc' })) >= 2);
    for (const source of ['mist', 'nxapi', 'sysadm']) {
      assert.equal(await daemon.metric('ws2otel_source_auth_failures_total', { source }), 0, source);
    }
  });

  it('says on /readyz which source is not ready and why', async () => {
    const res = await fetch(`http://127.0.0.1:${daemon.httpPort}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { components: Record<string, { ready: boolean; detail: string }> };
    const smc = Object.entries(body.components).filter(([k]) => k.startsWith('source/smc'));
    assert.ok(smc.length > 0 && smc.every(([, c]) => !c.ready), JSON.stringify(body));
    assert.ok(smc.every(([, c]) => /auth refused/.test(c.detail)), `an auth problem, not a flaky server: ${JSON.stringify(smc)}`);
    assert.equal(body.components['source/mist']?.ready, true);
    assert.equal(body.components['sink/collector']?.ready, true);
  });

  it('never writes a credential into a log line, at debug level, across the run', async () => {
    assert.equal(await daemon.stop(), 0);
    const out = daemon.stdout + daemon.stderr;
    assert.ok(out.length > 1000, 'the daemon logged');
    for (const [vendor, secret] of Object.entries(SECRETS)) assert.ok(!out.includes(secret), `${vendor} secret leaked`);
  });
});
