import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpSink, pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { NxapiSimulator } from '../../src/simulators/nxapi.js';

// NX-API simulator → ws2otel (child process) → the real OpenTelemetry Collector → its file exporter.
// Deadlines scaled ×100 down, so the daemon also has to keep its subscriptions and token alive.

const USER = 'otel-reader';
const PASS = 'e2e-nxapi-password-9876';

describe('NX-API → OTLP/HTTP → Collector', () => {
  const sim = new NxapiSimulator({
    username: USER, password: PASS, interfaces: 3, intervalMs: 150, flapEveryMs: 700,
    subscriptionTimeoutMs: 900, tokenLifetimeMs: 2000, record: true,
  });
  const e2e = pipeline({
    sims: [sim],
    config: (collector) => ({
      log_level: 'debug',
      sources: [{
        name: 'n9k-e2e', type: 'nxapi', url: sim.url, username: USER, password: '${NXAPI_PASSWORD}',
        queries: ['/api/class/rmonIfIn.json', '/api/class/rmonIfOut.json', '/api/class/ethpmPhysIf.json', '/api/mo/sys/intf/phys-[eth1/1].json'],
        subscription_refresh_interval: '300ms',
        resource: { 'deployment.environment.name': 'e2e' },
      }],
      sinks: [otlpSink(collector, { encoding: 'proto', max_events: 20 })],
    }),
    env: { NXAPI_PASSWORD: PASS },
  });
  const { collector } = e2e;

  it('delivers interface counters as cumulative sums with unit, direction, interface and the simulator\'s values', async () => {
    await waitFor('three token refreshes', () => sim.stats.tokenRefreshes >= 3, 20_000);
    const octets = sim.sent.filter((n) => n.cls === 'rmonIfOut').map((n) => Number(n.attributes.octets));
    await waitFor('the last rmonIfOut octets at the Collector', () =>
      collector.points().some((p) => p.name === 'nxapi.interface.io' && p.attributes['network.io.direction'] === 'transmit' && p.value === octets.at(-1)), 20_000);
    const points = collector.points().filter((p) => p.scope === 'ws2otel/nxapi');
    const io = points.filter((p) => p.name === 'nxapi.interface.io');
    for (const p of io) {
      assert.equal(p.unit, 'By');
      assert.equal(p.type, 'sum');
      assert.equal(p.monotonic, true);
      assert.equal(p.temporality, 2);
      assert.ok(p.startTimeUnixNano <= p.timeUnixNano);
      assert.match(String(p.attributes['network.interface.name']), /^eth1\/[1-3]$/);
      assert.equal(p.resource['device.manufacturer'], 'Cisco');
      assert.equal(p.resource['host.name'], '127.0.0.1');
      assert.equal(p.resource['deployment.environment.name'], 'e2e');
    }
    // Every transmit octet count the simulator notified arrived, as an integer of the same value.
    const got = new Set(io.filter((p) => p.attributes['network.io.direction'] === 'transmit').map((p) => p.value));
    for (const v of octets) assert.ok(got.has(v), `octets ${v} missing at the Collector`);
    const pkts = points.find((p) => p.name === 'nxapi.interface.packets' && p.attributes['nxapi.packet.cast'] === 'unicast');
    assert.equal(pkts?.unit, '{packet}');
    const errs = points.find((p) => p.name === 'nxapi.interface.errors');
    assert.equal(errs?.unit, '{error}');
    const admin = points.find((p) => p.name === 'nxapi.interface.admin.status' && p.attributes['network.interface.name'] === 'eth1/1');
    assert.equal(admin?.value, 1);
    assert.equal(admin?.type, 'gauge');
    assert.equal(sim.stats.expiredSubscriptions, 0);
    assert.equal(sim.stats.expiredTokens, 0);
    assert.equal(sim.stats.logins, 1);
  });

  it('delivers notifications as log records: the description change, and a port going down graded WARN with its state as a gauge', async () => {
    sim.setAttributes('sys/intf/phys-[eth1/1]', { descr: 'uplink to core' });
    await waitFor('the descr record', () => collector.records().some((r) => r.attributes['nxapi.attr.descr'] === 'uplink to core'), 20_000);
    const descr = collector.records().find((r) => r.attributes['nxapi.attr.descr'] === 'uplink to core')!;
    assert.equal(descr.body, 'l1PhysIf sys/intf/phys-[eth1/1] modified');
    assert.equal(descr.eventName, 'nxapi.mo.modified');
    assert.equal(descr.attributes['network.interface.name'], 'eth1/1');
    assert.match(String(descr.attributes['nxapi.subscription_ids']), /^\d+$/);
    const sent = sim.sent.find((n) => n.attributes.descr === 'uplink to core')!;
    assert.equal(descr.timeUnixNano / 1_000_000n, BigInt(Date.parse(sent.attributes.modTs!)));

    await waitFor('a port-down record', () => collector.records().some((r) => r.attributes['nxapi.attr.operSt'] === 'down'), 20_000);
    const down = collector.records().find((r) => r.attributes['nxapi.attr.operSt'] === 'down')!;
    assert.equal(down.severityText, 'WARN');
    assert.equal(down.severityNumber, 13);
    assert.equal(down.attributes['nxapi.class'], 'ethpmPhysIf');
    const iface = down.attributes['network.interface.name'];
    await waitFor('its oper.status 0 point', () => collector.points().some((p) =>
      p.name === 'nxapi.interface.oper.status' && p.value === 0 && p.attributes['network.interface.name'] === iface), 20_000);
  });

  it('exits 0 on SIGTERM, logs out, and never logs the password or a token', async () => {
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
    assert.equal(sim.stats.logouts, 1);
    const out = e2e.daemon.stdout + e2e.daemon.stderr;
    assert.ok(!out.includes(PASS), 'password leaked into a log line');
    for (const t of sim.tokensIssued) assert.ok(!out.includes(t), 'a token leaked into a log line');
    assert.ok(!out.includes('/socket'), 'the socket URL was logged');
  });
});
