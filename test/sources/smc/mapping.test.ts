import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmcMapping, elementType, statusIdentity } from '../../../src/sources/smc/mapping.js';
import type { Envelope, MetricPoint } from '../../../src/model.js';
import { SEED_EVENTS, SEED_NODE_STATUS, SEED_NODE_SUBSCRIBE, SEED_VPN_STATUS, SEED_VPN_SUBSCRIBE } from '../../fixtures/smc.js';

const T = 1_700_000_000_123;

function statusOf(frame: string): Record<string, unknown> {
  return (JSON.parse(frame) as { status: { status: Record<string, unknown> } }).status.status;
}

function one(env: Envelope, name: string, attrs: Record<string, unknown> = {}): MetricPoint {
  const found = env.metrics.toArray().filter((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
  assert.equal(found.length, 1, `exactly one ${name} ${JSON.stringify(attrs)} point (got ${found.length})`);
  return found[0]!;
}

describe('SMC status mapping (seed: smc-element-status.txt)', () => {
  const vpnHref = (JSON.parse(SEED_VPN_SUBSCRIBE) as { element: string }).element;

  it('maps the VPN endpoint status to gauges with UCUM units, packet loss in percent', () => {
    const m = new SmcMapping('smc', [], { env: 'test' }, '0.0.0');
    const env = m.status(vpnHref, statusOf(SEED_VPN_STATUS), T);
    const expect: [string, number, string][] = [
      ['smc.element.health', 71, '%'],
      ['smc.element.latency', 71, 'ms'],
      ['smc.element.jitter', 3, 'ms'],
      ['smc.element.packet_loss', 3.61, '%'],
      ['smc.element.traffic', 1881231412, 'bit/s'],
    ];
    for (const [name, value, unit] of expect) {
      const p = one(env, name);
      assert.equal(p.value, value, name);
      assert.equal(p.unit, unit, name);
      assert.equal(p.kind, 'gauge', name);
      assert.equal(p.timeMs, T, `${name}: arrival time (the SMC sends none)`);
    }
    assert.equal(env.scope.name, 'ws2otel/smc');
    assert.equal(env.source, 'smc');
  });

  it('puts the subscribed href, the element type and its name on the resource', () => {
    const env = new SmcMapping('smc', [], { env: 'test' }, '0.0.0').status(vpnHref, statusOf(SEED_VPN_STATUS), T);
    assert.deepEqual(env.resource, { env: 'test', 'smc.element.href': vpnHref, 'smc.element.type': 'vpn', 'smc.element.name': 'Corporate VPN' });
  });

  it('emits each state field as one point per state, 1 for the current one', () => {
    const env = new SmcMapping('smc', [], {}, '0.0.0').status(vpnHref, statusOf(SEED_VPN_STATUS), T);
    const states = env.metrics.toArray().filter((p) => p.name === 'smc.element.monitoring.state');
    assert.deepEqual(states.map((p) => p.attributes.state), ['INITIAL', 'READY', 'NO_STATUS', 'TIMEOUT', 'ERROR', 'SERVER_ERROR', 'DELETED', 'DUMMY']);
    assert.deepEqual(states.filter((p) => p.value === 1).map((p) => p.attributes.state), ['READY']);
    assert.ok(states.every((p) => p.unit === '1' && p.kind === 'gauge' && p.int));
    const statuses = env.metrics.toArray().filter((p) => p.name === 'smc.element.monitoring.status');
    assert.equal(statuses.length, 8);
    assert.equal(one(env, 'smc.element.monitoring.status', { state: 'OK' }).value, 1);
    assert.equal(one(env, 'smc.element.monitoring.status', { state: 'WARNING' }).value, 0);
    // vpn_status_code has no documented list: the value seen is the one point.
    assert.equal(one(env, 'smc.element.vpn.status', { state: 'Idle' }).value, 1);
  });

  it('counts the result members per type (the VPN\'s twelve gateway tunnels)', () => {
    const env = new SmcMapping('smc', [], {}, '0.0.0').status(vpnHref, statusOf(SEED_VPN_STATUS), T);
    const p = one(env, 'smc.element.members', { 'smc.member.type': 'gateway_tunnel' });
    assert.equal(p.value, 12);
    assert.equal(p.unit, '{member}');
  });

  it('remembers a state value once seen, so a change sets the old series to 0', () => {
    const m = new SmcMapping('smc', [], {}, '0.0.0');
    m.status(vpnHref, statusOf(SEED_VPN_STATUS), T);
    const down = { ...statusOf(SEED_VPN_STATUS), vpn_status_code: 'Down', monitoring_status: 'WARNING' };
    const env = m.status(vpnHref, down, T + 1000);
    assert.equal(one(env, 'smc.element.vpn.status', { state: 'Idle' }).value, 0);
    assert.equal(one(env, 'smc.element.vpn.status', { state: 'Down' }).value, 1);
    assert.equal(one(env, 'smc.element.monitoring.status', { state: 'OK' }).value, 0);
    assert.equal(one(env, 'smc.element.monitoring.status', { state: 'WARNING' }).value, 1);
    // Another element starts with only its own values.
    const other = m.status('http://x/7.2/elements/vpn/6', { vpn_status_code: 'Up' }, T);
    assert.deepEqual(other.metrics.toArray().map((p) => p.attributes.state), ['Up']);
  });

  it('maps the engine node status: its states, name and type', () => {
    const href = (JSON.parse(SEED_NODE_SUBSCRIBE) as { element: string }).element;
    const env = new SmcMapping('smc', [], {}, '0.0.0').status(href, statusOf(SEED_NODE_STATUS), T);
    assert.equal(one(env, 'smc.element.monitoring.state', { state: 'READY' }).value, 1);
    assert.equal(one(env, 'smc.element.monitoring.status', { state: 'OK' }).value, 1);
    assert.equal(env.metrics.length, 16, 'two documented state sets of eight');
    assert.equal(env.resource['smc.element.name'], 'Plano node 1');
    assert.equal(env.resource['smc.element.type'], 'single_fw');
  });

  it('maps node traffic, connections and the engine fields the protocol notes add', () => {
    const env = new SmcMapping('smc', [], {}, '0.0.0').status('http://x/7.2/elements/single_fw/1/firewall_node/2', {
      inbound_traffic_in_bits_per_sec: '5000', outbound_traffic_in_bits_per_sec: 3000, connection_count: 42,
      engine_node_status: 'Online', configuration_status: 'Installed', installed_policy: 'Corporate Policy',
    }, T);
    assert.equal(one(env, 'smc.element.traffic.inbound').value, 5000);
    assert.equal(one(env, 'smc.element.traffic.outbound').unit, 'bit/s');
    const c = one(env, 'smc.element.connections');
    assert.equal(c.value, 42);
    assert.equal(c.unit, '{connection}');
    assert.equal(c.int, true);
    assert.equal(one(env, 'smc.element.node.status', { state: 'Online' }).value, 1);
    assert.equal(one(env, 'smc.element.configuration.status', { state: 'Installed' }).value, 1);
    assert.equal(one(env, 'smc.element.policy.installed', { policy: 'Corporate Policy' }).value, 1);
  });

  it('lets the metrics block drop a default, add a field and replace a state', () => {
    const m = new SmcMapping('smc', [
      { path: 'packet_loss_in_permyriad', drop: true, metric: '' },
      { path: 'memory_used', metric: 'smc.server.memory.used', unit: '%' },
      { path: 'monitoring_state', drop: true, metric: '' },
    ], {}, '0.0.0');
    const env = m.status(vpnHref, { ...statusOf(SEED_VPN_STATUS), memory_used: 40 }, T);
    assert.equal(env.metrics.toArray().filter((p) => p.name === 'smc.element.packet_loss').length, 0);
    assert.equal(env.metrics.toArray().filter((p) => p.name === 'smc.element.monitoring.state').length, 0);
    assert.equal(one(env, 'smc.server.memory.used').value, 40);
  });
});

describe('SMC notification mapping (seed: smc-notification-socket.txt)', () => {
  const contexts = ['*', 'host'];

  it('turns each seed event into a log record named smc.element.<type>', () => {
    const m = new SmcMapping('smc', [], { env: 'test' }, '0.0.0');
    const records = SEED_EVENTS.map((text) => {
      const f = JSON.parse(text) as { subscription_id: number; event: unknown };
      const env = m.events(f, { id: f.subscription_id, context: contexts[f.subscription_id]! }, T);
      assert.ok(env);
      assert.deepEqual(env.resource, { env: 'test' });
      assert.equal(env.logs.length, 1);
      return env.logs[0]!;
    });
    assert.deepEqual(records.map((r) => r.eventName), ['smc.element.create', 'smc.element.create', 'smc.element.create', 'smc.element.update', 'smc.element.update']);
    const host = records[2]!;
    assert.equal(host.body, 'create http://localhost:8082/7.2.1/elements/host/1732');
    assert.deepEqual(host.attributes, {
      'smc.event.type': 'create', 'smc.element.href': 'http://localhost:8082/7.2.1/elements/host/1732', 'smc.element.type': 'host',
      'smc.subscription.id': 1, 'smc.subscription.context': 'host',
    });
    assert.equal(records[0]!.attributes['smc.subscription.context'], '*');
    assert.equal(records[0]!.attributes['smc.element.type'], 'router');
    assert.ok(records.every((r) => r.severityText === 'INFO' && r.severityNumber === 9 && r.timeMs === T));
  });

  it('accepts the API 6.5 list form and grades removals WARN', () => {
    const m = new SmcMapping('smc', [], {}, '0.0.0');
    const env = m.events({ events: [
      { type: 'delete', element: 'http://h/6.5/elements/host/1' },
      { type: 'trashed', element: 'http://h/6.5/elements/router/2' },
      { type: 'validated', element: 'http://h/6.5/elements/single_fw/3' },
      { type: 42 },
    ] }, { id: 0, context: '*' }, T);
    assert.ok(env);
    assert.deepEqual(env.logs.map((r) => [r.eventName, r.severityText]), [
      ['smc.element.delete', 'WARN'], ['smc.element.trashed', 'WARN'], ['smc.element.validated', 'INFO'],
    ]);
  });

  it('returns nothing for an event without type or element', () => {
    const m = new SmcMapping('smc', [], {}, '0.0.0');
    assert.equal(m.events({ event: { type: 'create' } }, { id: 0 }, T), undefined);
    assert.equal(m.events({ event: 'create' }, { id: 0 }, T), undefined);
  });

  it('reads the element type from an href, even the seed\'s doubled scheme', () => {
    assert.equal(elementType('https://http://localhost:8082/7.2.1/elements/vpn/5/tunnels/MiM1OQ==/endpoints/MSMxMTQ='), 'vpn');
    assert.equal(elementType('http://localhost:8082/7.2.1/api'), undefined);
  });
});

describe('SMC family status identity (how a {"context": type} status names its element is unconfirmed)', () => {
  const HREF = 'https://smc:8082/7.2/elements/virtual_fw/2000';

  it('takes an href from inside the status, from its wrapper or from the frame, and the status name', () => {
    const inner = { name: 've 1', href: HREF };
    assert.deepEqual(statusIdentity({ status: { status: inner } }, inner), { href: HREF, name: 've 1' });
    const bare = { name: 've 1', element: HREF };
    assert.deepEqual(statusIdentity({ status: { status: bare } }, bare), { href: HREF, name: 've 1' });
    const plain = { name: 've 1' };
    assert.deepEqual(statusIdentity({ status: { status: plain, href: HREF } }, plain), { href: HREF, name: 've 1' });
    assert.deepEqual(statusIdentity({ status: { status: plain }, element: HREF }, plain), { href: HREF, name: 've 1' });
    assert.deepEqual(statusIdentity({ status: { status: plain } }, plain), { name: 've 1' });
  });

  it('ignores an "href" that is no element href, and names nothing when the status carries no identity', () => {
    const inner = { href: 'not a link', element: 42, health_in_percent: 1 };
    assert.equal(statusIdentity({ status: { status: inner } }, inner), undefined);
    const empty = { name: '' };
    assert.equal(statusIdentity({ status: { status: empty } }, empty), undefined);
  });

  it('keeps state gauges apart per element of a family named only by name', () => {
    const m = new SmcMapping('smc', [], {}, '0.0.0');
    m.status(undefined, { name: 'a', monitoring_status: 'OK', vpn_status_code: 'Up' }, T, 'virtual_fw');
    const b = m.status(undefined, { name: 'b', monitoring_status: 'OK', vpn_status_code: 'Down' }, T, 'virtual_fw');
    // b has seen only Down: a's Up is not b's state.
    assert.deepEqual(b.metrics.toArray().filter((p) => p.name === 'smc.element.vpn.status').map((p) => [p.attributes.state, p.value]), [['Down', 1]]);
    assert.equal(b.resource['smc.status.context'], 'virtual_fw');
    assert.equal(b.resource['smc.element.name'], 'b');
    assert.equal(b.resource['smc.element.type'], undefined, 'the family name is not a RelName');
  });
});
