import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpSink, pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { SysadmSimulator } from '../../src/simulators/sysadm.js';

// sysadm simulator (TLS, self-signed) → ws2otel (child process, trusting the cert through tls.ca_file)
// → the real OpenTelemetry Collector → its file exporter. Events come out as log records, system-state
// pools and polls as metrics with their units, all under the server's host name.

const PASSWORD = 'e2e-sysadm-password-5678';
const GiB = 1024 ** 3;

describe('sysadm → OTLP/HTTP → Collector', () => {
  const sim = new SysadmSimulator({ users: { monitor: PASSWORD }, hostname: 'nas-e2e', lifePreserverEveryMs: 200, systemStateEveryMs: 500 });
  const e2e = pipeline({
    sims: [sim],
    config: (collector) => ({
      log_level: 'debug',
      sources: [{
        name: 'sysadm-e2e', type: 'sysadm', url: sim.url, username: 'monitor', password: '${SYSADM_PASSWORD}',
        tls: { ca_file: sim.certFile }, poll: { interval: '200ms' }, resource: { 'deployment.environment.name': 'e2e' },
      }],
      sinks: [otlpSink(collector, { max_events: 10 })],
    }),
    env: { SYSADM_PASSWORD: PASSWORD },
  });
  const { collector } = e2e;

  it('delivers system-state pools as byte and percent gauges and health/update states under host.name', async () => {
    await waitFor('pool points at the Collector', () => collector.points().some((p) => p.name === 'sysadm.zpool.health'), 30_000);
    const points = collector.points().filter((p) => p.scope === 'ws2otel/sysadm');
    const size = points.find((p) => p.name === 'sysadm.zpool.size' && p.attributes['sysadm.zpool.name'] === 'zroot');
    assert.ok(size);
    assert.equal(size.value, 107 * GiB);
    assert.equal(size.unit, 'By');
    assert.equal(size.type, 'gauge');
    assert.equal(size.resource['host.name'], 'nas-e2e');
    assert.equal(size.resource['deployment.environment.name'], 'e2e');
    const cap = points.find((p) => p.name === 'sysadm.zpool.capacity' && p.attributes['sysadm.zpool.name'] === 'tank');
    assert.equal(cap?.value, 21);
    assert.equal(cap?.unit, '%');
    assert.equal(points.find((p) => p.name === 'sysadm.zpool.fragmentation' && p.attributes['sysadm.zpool.name'] === 'tank')?.value, 12);
    const online = points.find((p) => p.name === 'sysadm.zpool.health' && p.attributes['sysadm.zpool.name'] === 'tank' && p.attributes.state === 'ONLINE');
    assert.equal(online?.value, 1);
    assert.equal(online?.unit, '1');
    const upd = points.filter((p) => p.name === 'sysadm.updates.status' && p.value === 1);
    assert.ok(upd.length >= 1 && upd.every((p) => ['noupdates', 'updatesavailable'].includes(p.attributes.state as string)));
  });

  it('delivers the polled memory, CPU and temperature metrics with their units', async () => {
    await waitFor('poll points', () => collector.points().some((p) => p.name === 'sysadm.cpu.temperature'), 30_000);
    const points = collector.points();
    const free = points.find((p) => p.name === 'sysadm.memory.free');
    assert.ok(free);
    assert.equal(free.unit, 'By');
    assert.equal(free.value % (1 << 20), 0);
    assert.ok(free.value >= 1024 * (1 << 20));
    const busy = points.find((p) => p.name === 'sysadm.cpu.busy' && p.attributes.cpu === 'total');
    assert.equal(busy?.unit, '%');
    const temp = points.find((p) => p.name === 'sysadm.cpu.temperature' && p.attributes.cpu === 'cpu0');
    assert.equal(temp?.unit, 'Cel');
    assert.ok(temp!.value >= 40 && temp!.value < 50);
    assert.equal(temp!.resource['host.name'], 'nas-e2e');
  });

  it('delivers life-preserver events as log records with their own time, severity and class', async () => {
    await waitFor('life-preserver records', () => collector.records().filter((r) => r.eventName === 'sysadm.life-preserver').length >= 3, 30_000);
    const records = collector.records().filter((r) => r.eventName === 'sysadm.life-preserver');
    for (const r of records.slice(0, 3)) {
      const sent = sim.sent.find((e) => e.name === 'life-preserver' && (e.args as { message: string }).message.endsWith(String(r.body)));
      assert.ok(sent, `record ${String(r.body)} was sent by the simulator`);
      const stamp = (sent.args as { message: string }).message.split(': ')[0]!;
      assert.equal(r.timeUnixNano / 1_000_000n, BigInt(Date.parse(stamp)));
      assert.equal(r.severityText, 'INFO');
      assert.equal(r.severityNumber, 9);
      assert.equal(r.attributes['sysadm.event.class'], 'snapshot');
      assert.equal(r.resource['host.name'], 'nas-e2e');
    }
    assert.ok(collector.records().some((r) => r.eventName === 'sysadm.system-state'));
    assert.ok(collector.records().some((r) => r.eventName === 'sysadm.dispatcher'));
  });

  it('exports each event once across a dropped connection: the cached events replayed on the new subscribe are not sent again', async () => {
    const subscribes = () => sim.clientMessages.filter((m) => m.namespace === 'events' && m.name === 'subscribe').length;
    await waitFor('the dispatcher event at the Collector', () => collector.records().some((r) => r.eventName === 'sysadm.dispatcher'), 30_000);
    const before = subscribes();
    sim.closeAll(1001, 'server shutting down');
    await waitFor('a new subscription', () => subscribes() > before, 30_000);
    const sentAfter = sim.sent.length;
    // A life-preserver pushed after the reconnect: once it is at the Collector, so is what came before it.
    await waitFor('a record pushed after the reconnect', () => {
      const fresh = sim.sent.slice(sentAfter).filter((e) => e.name === 'life-preserver').map((e) => (e.args as { message: string }).message);
      return collector.records().some((r) => fresh.some((m) => m.endsWith(`: ${String(r.body)}`)));
    }, 30_000);
    // The simulator pushes no dispatcher events: its one cached event was replayed on each subscribe.
    assert.equal(collector.records().filter((r) => r.eventName === 'sysadm.dispatcher').length, 1);
    const bodies = collector.records().filter((r) => r.eventName === 'sysadm.life-preserver').map((r) => String(r.body));
    assert.equal(new Set(bodies).size, bodies.length, 'no life-preserver event twice');
  });

  it('exits 0 on SIGTERM, having cleared its token, and never logs the password', async () => {
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
    assert.ok(sim.clientMessages.some((m) => m.namespace === 'rpc' && m.name === 'auth_clear'));
    assert.ok(!e2e.daemon.stdout.includes(PASSWORD) && !e2e.daemon.stderr.includes(PASSWORD), 'password leaked into a log line');
  });
});
