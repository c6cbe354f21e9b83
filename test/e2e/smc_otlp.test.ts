import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpSink, pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { SEED_ENGINE_NODE, SEED_VPN_ENDPOINT, SmcSimulator } from '../../src/simulators/smc.js';

// SMC simulator → ws2otel (child process) → the real OpenTelemetry Collector → its file exporter.

const KEY = 'e2e-smc-api-key-0a1b2c3d4e';
const NODE = 'elements/single_fw/1700/firewall_node/1800';

describe('Forcepoint SMC → OTLP/HTTP → Collector', () => {
  const sim = new SmcSimulator({ apiKey: KEY, nodes: 1, statusEveryMs: 100, changeEveryMs: 100 });
  const e2e = pipeline({
    sims: [sim],
    config: (collector) => ({
      log_level: 'debug',
      sources: [{
        name: 'smc-e2e', type: 'smc', url: sim.url, api_key: '${SMC_API_KEY}',
        contexts: ['*', 'host'],
        elements: [sim.href('7.2', SEED_VPN_ENDPOINT), sim.href('7.2', SEED_ENGINE_NODE), sim.href('7.2', NODE)],
        resource: { 'deployment.environment.name': 'e2e' },
      }],
      sinks: [otlpSink(collector, { encoding: 'proto', max_events: 20 })],
    }),
    env: { SMC_API_KEY: KEY },
  });
  const { collector } = e2e;

  it('delivers the seed VPN status with its names, units, types and element resource', async () => {
    const points = await waitFor('VPN points at the Collector', () => {
      const p = collector.points().filter((x) => x.resource['smc.element.href'] === sim.href('7.2', SEED_VPN_ENDPOINT));
      return p.some((x) => x.name === 'smc.element.packet_loss' && x.value === 3.61) ? p : undefined;
    }, 30_000);
    const seedTime = points.find((p) => p.name === 'smc.element.packet_loss' && p.value === 3.61)!.timeUnixNano;
    const at = (name: string, attrs: Record<string, unknown> = {}) =>
      points.find((p) => p.name === name && p.timeUnixNano === seedTime && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
    const expect: [string, number, string][] = [
      ['smc.element.health', 71, '%'], ['smc.element.latency', 71, 'ms'], ['smc.element.jitter', 3, 'ms'],
      ['smc.element.packet_loss', 3.61, '%'], ['smc.element.traffic', 1881231412, 'bit/s'],
    ];
    for (const [name, value, unit] of expect) {
      const p = at(name);
      assert.ok(p, name);
      assert.equal(p.value, value, name);
      assert.equal(p.unit, unit, name);
      assert.equal(p.type, 'gauge', name);
      assert.equal(p.scope, 'ws2otel/smc');
    }
    assert.equal(at('smc.element.monitoring.state', { state: 'READY' })?.value, 1);
    assert.equal(at('smc.element.monitoring.state', { state: 'ERROR' })?.value, 0);
    assert.equal(at('smc.element.vpn.status', { state: 'Idle' })?.value, 1);
    assert.equal(at('smc.element.members', { 'smc.member.type': 'gateway_tunnel' })?.value, 12);
    const r = points[0]!.resource;
    assert.equal(r['smc.element.name'], 'Corporate VPN');
    assert.equal(r['smc.element.type'], 'vpn');
    assert.equal(r['smc.server.address'], `127.0.0.1:${sim.port}`);
    assert.equal(r['deployment.environment.name'], 'e2e');
  });

  it('delivers every node status the simulator sent, value for value', async () => {
    await waitFor('ten node statuses sent', () => sim.sent.filter((f) => f.path === NODE).length >= 10, 20_000);
    const sent = sim.sent.filter((f) => f.path === NODE).slice(0, 10).map((f) => (f.frame.status as { status: Record<string, unknown> }).status);
    const mine = () => collector.points().filter((p) => p.resource['smc.element.href'] === sim.href('7.2', NODE));
    await waitFor('their connection counts at the Collector', () => {
      const got = new Set(mine().filter((p) => p.name === 'smc.element.connections').map((p) => p.value));
      return sent.every((s) => got.has(s.connection_count as number));
    }, 20_000);
    const points = mine();
    for (const s of sent) {
      const c = points.find((p) => p.name === 'smc.element.connections' && p.value === s.connection_count)!;
      assert.equal(c.unit, '{connection}');
      // A status carries no time of its own: its points are stamped when it arrived, so two statuses
      // read in the same millisecond share a time. Look for each value among the points of that time.
      const same = points.filter((p) => p.timeUnixNano === c.timeUnixNano);
      const has = (name: string, value: unknown, attrs: Record<string, unknown> = {}) =>
        same.some((p) => p.name === name && p.value === value && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
      assert.ok(has('smc.element.traffic.inbound', s.inbound_traffic_in_bits_per_sec), 'inbound traffic');
      assert.ok(has('smc.element.traffic.outbound', s.outbound_traffic_in_bits_per_sec), 'outbound traffic');
      assert.ok(has('smc.element.health', s.health_in_percent), 'health');
      assert.ok(has('smc.element.monitoring.status', 1, { state: s.monitoring_status }), 'monitoring status');
      assert.ok(has('smc.element.node.status', 1, { state: s.engine_node_status }), 'node status');
    }
    assert.equal(points[0]!.resource['smc.element.name'], 'node 1800');
  });

  it('delivers element change notifications as log records, one per channel', async () => {
    await waitFor('host events on both channels', () => {
      const r = collector.records().filter((x) => x.attributes['smc.element.type'] === 'host');
      return r.some((x) => x.attributes['smc.subscription.context'] === 'host') && r.some((x) => x.attributes['smc.subscription.context'] === '*');
    }, 20_000);
    const records = collector.records();
    for (const r of records) {
      assert.equal(r.scope, 'ws2otel/smc');
      const type = r.attributes['smc.event.type'] as string;
      assert.equal(r.eventName, `smc.element.${type}`);
      assert.equal(r.body, `${type} ${String(r.attributes['smc.element.href'])}`);
      const warn = type === 'delete' || type === 'trashed';
      assert.equal(r.severityText, warn ? 'WARN' : 'INFO');
      assert.equal(r.resource['smc.server.address'], `127.0.0.1:${sim.port}`);
      assert.equal(r.resource['deployment.environment.name'], 'e2e');
    }
    // Only '*' sees non-host elements.
    assert.ok(records.filter((x) => x.attributes['smc.element.type'] !== 'host').every((x) => x.attributes['smc.subscription.context'] === '*'));
  });

  it('logs out of the SMC, exits 0 on SIGTERM and never logs the API key', async () => {
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
    assert.equal(sim.logouts, 1);
    assert.equal(sim.activeSessions, 0);
    assert.ok(sim.clientMessages.some((m) => m.text === '{"unsubscribe":2}' && m.kind === 'status'), 'unsubscribed on the status socket');
    assert.deepEqual(e2e.daemon.logLines().filter((l) => l.msg === 'frame rejected'), [], 'a clean stream has no rejected frames');
    assert.ok(!e2e.daemon.stdout.includes(KEY) && !e2e.daemon.stderr.includes(KEY), 'API key leaked into a log line');
  });
});

describe('Forcepoint SMC in SSL-session mode, element families → OTLP/HTTP → Collector', () => {
  const sim = new SmcSimulator({ apiKey: KEY, sessionMode: 'ssl', nodes: 1, virtualEngines: 2, statusEveryMs: 100, changeEveryMs: 100 });
  const e2e = pipeline({
    sims: [sim],
    config: (collector) => ({
      log_level: 'debug',
      sources: [{
        name: 'smc-ssl-e2e', type: 'smc', url: sim.url, api_key: '${SMC_API_KEY}',
        contexts: ['*'], elements: [sim.href('7.2', SEED_VPN_ENDPOINT)], status_contexts: ['virtual_fw'],
      }],
      sinks: [otlpSink(collector, { encoding: 'proto', max_events: 20 })],
    }),
    env: { SMC_API_KEY: KEY },
  });
  const { collector } = e2e;

  it('logs in with the Authorization token and delivers each virtual engine of the family as its own resource', async () => {
    const engines = ['elements/virtual_fw/2000', 'elements/virtual_fw/2001'].map((p) => sim.href('7.2', p));
    await waitFor('health of both virtual engines at the Collector', () => {
      const hrefs = new Set(collector.points().filter((p) => p.name === 'smc.element.health').map((p) => p.resource['smc.element.href']));
      return engines.every((h) => hrefs.has(h));
    }, 30_000);
    const p = collector.points().find((x) => x.resource['smc.element.href'] === engines[1])!;
    assert.equal(p.resource['smc.status.context'], 'virtual_fw');
    assert.equal(p.resource['smc.element.name'], 'virtual engine 2001');
    assert.ok(collector.points().some((x) => x.name === 'smc.element.packet_loss' && x.value === 3.61), 'the element subscription beside the family');
    await waitFor('an event record', () => collector.records().length > 0, 20_000);
    assert.equal(sim.logins, 1);
    assert.ok(sim.upgrades.every((u) => u.status === 101 && u.headers.cookie === undefined));
  });

  it('logs out with the token on SIGTERM and never logs the token or the API key', async () => {
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
    assert.equal(sim.logouts, 1);
    assert.equal(sim.activeSessions, 0);
    const out = e2e.daemon.stdout + e2e.daemon.stderr;
    assert.equal(sim.tokens.length, 1);
    assert.ok(!out.includes(sim.tokens[0]!), 'the session token leaked into a log line');
    assert.ok(!out.includes(KEY), 'API key leaked into a log line');
  });
});
