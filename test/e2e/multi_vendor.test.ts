import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpSink, pipeline, simulated } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';

// Four vendors in one daemon; SMC's API key is wrong. The other three must deliver regardless, the
// failure must be counted and visible on /readyz, and no credential may reach a log line.

const SECRETS = { mist: 'demo-token', smc: 'wrong-api-key-0042', nxapi: 'demo-password', sysadm: 'demo-password' };

describe('several vendors in one daemon, one failing auth', () => {
  const mist = simulated('mist', { 'interval-ms': '200' });
  const smc = simulated('smc', { 'status-ms': '300' });
  const nxapi = simulated('nxapi', { 'interval-ms': '300' });
  const sysadm = simulated('sysadm', { 'system-state-ms': '300' });
  const e2e = pipeline({
    sims: [mist, smc, nxapi, sysadm],
    config: (collector) => ({
      log_level: 'debug',
      sources: [
        { name: 'mist', type: 'mist', url: mist.url, token: SECRETS.mist, channels: ['/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices'] },
        { name: 'smc', type: 'smc', url: smc.url, api_key: SECRETS.smc, contexts: ['*'], reconnect: { initial_interval: '100ms', max_interval: '500ms' }, auth_retry: { initial_interval: '1s', max_interval: '1s' } },
        { name: 'nxapi', type: 'nxapi', url: nxapi.url, username: 'admin', password: SECRETS.nxapi, queries: ['/api/class/rmonIfIn.json'] },
        { name: 'sysadm', type: 'sysadm', url: sysadm.url, username: 'monitor', password: SECRETS.sysadm, events: ['system-state'], tls: { insecure_skip_verify: true } },
      ],
      sinks: [otlpSink(collector, { max_events: 50 })],
    }),
  });
  const { collector } = e2e;

  it('delivers the three healthy vendors while the fourth keeps failing auth', async () => {
    await waitFor('metrics of mist, nxapi and sysadm', () => {
      const scopes = new Set(collector.points().map((p) => p.name.split('.')[0]));
      return scopes.has('mist') && scopes.has('nxapi') && scopes.has('sysadm');
    }, 60_000);
    assert.equal(collector.points().filter((p) => p.name.startsWith('smc.')).length, 0);
    await waitFor('several SMC auth failures', async () => (await e2e.daemon.metric('ws2otel_source_auth_failures_total', { source: 'smc' })) >= 2);
    for (const source of ['mist', 'nxapi', 'sysadm']) {
      assert.equal(await e2e.daemon.metric('ws2otel_source_auth_failures_total', { source }), 0, source);
    }
  });

  it('says on /readyz which source is not ready and why', async () => {
    const res = await fetch(`http://127.0.0.1:${e2e.daemon.httpPort}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { components: Record<string, { ready: boolean; detail: string }> };
    const smc = Object.entries(body.components).filter(([k]) => k.startsWith('source/smc'));
    assert.ok(smc.length > 0 && smc.every(([, c]) => !c.ready), JSON.stringify(body));
    assert.ok(smc.every(([, c]) => /auth refused/.test(c.detail)), `an auth problem, not a flaky server: ${JSON.stringify(smc)}`);
    assert.equal(body.components['source/mist']?.ready, true);
    assert.equal(body.components['sink/collector']?.ready, true);
  });

  it('never writes a credential into a log line, at debug level, across the run', async () => {
    const { daemon } = e2e;
    assert.equal(await daemon.stop(), 0);
    const out = daemon.stdout + daemon.stderr;
    assert.ok(out.length > 1000, 'the daemon logged');
    for (const [vendor, secret] of Object.entries(SECRETS)) assert.ok(!out.includes(secret), `${vendor} secret leaked`);
  });
});
