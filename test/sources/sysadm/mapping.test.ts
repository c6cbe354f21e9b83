import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SysadmMapping, prioritySeverity, splitStampedMessage, sysadmNumber, withoutShiftedPools } from '../../../src/sources/sysadm/mapping.js';
import { parseMessage } from '../../../src/sources/sysadm/wire.js';
import type { MetricPoint } from '../../../src/model.js';
import { SEED_LIFE_PRESERVER, SEED_SUBSCRIBE } from '../../fixtures/sysadm.js';

/** A system-state push as the server builds it (see the source's README), with zpool list strings. */
const SYSTEM_STATE = {
  namespace: 'events', name: 'system-state', id: '',
  args: {
    hostname: 'nas1.example.org',
    zpools: {
      tank: { size: '107G', alloc: '6.55G', free: '100G', frag: '6%', expandsz: '-', dedup: '1.00x', altroot: '-', capacity: '6%', health: 'ONLINE' },
      backup: { size: '1.81T', alloc: '1.45T', free: '371G', frag: '27%', expandsz: '-', dedup: '1.20x', altroot: '-', capacity: '80%', health: 'DEGRADED' },
    },
    updates: { status: 'updatesavailable', details: '12 packages', last_check: '2016-01-28T11:00:00Z' },
    priority: '3 - Warning',
  },
};

const GiB = 1024 ** 3;
const mapping = () => new SysadmMapping('sysadm-test', [], { 'deployment.environment.name': 'test' }, '0.0.0');

function find(points: Iterable<Readonly<MetricPoint>>, name: string, attrs: Record<string, unknown> = {}): Readonly<MetricPoint> | undefined {
  return [...points].find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
}

describe('sysadm mapping', () => {
  it('parses the seed subscribe request as an envelope with its args list', () => {
    const msg = parseMessage(SEED_SUBSCRIBE);
    assert.ok(typeof msg === 'object');
    assert.deepEqual(msg, { namespace: 'events', name: 'subscribe', id: 'sampleID', args: ['dispatcher', 'life-preserver'] });
  });

  it('maps the seed life-preserver event to a log record with severity, body, time and class', () => {
    const msg = parseMessage(SEED_LIFE_PRESERVER);
    assert.ok(typeof msg === 'object');
    const env = mapping().event('life-preserver', msg.args as Record<string, unknown>, 'nas1', 1_700_000_000_000);
    assert.equal(env.metrics.length, 0);
    assert.equal(env.logs.length, 1);
    const r = env.logs[0]!;
    assert.equal(r.eventName, 'sysadm.life-preserver');
    assert.equal(r.severityText, 'INFO');
    assert.equal(r.severityNumber, 9);
    assert.equal(r.body, 'Finished replication task on pool: tank');
    assert.equal(r.timeMs, Date.parse('2016-01-28T11:34:29Z'), "the message's own timestamp wins");
    assert.equal(r.observedMs, 1_700_000_000_000);
    assert.equal(r.attributes['sysadm.event.class'], 'snapshot');
    assert.equal(r.attributes['sysadm.event.priority'], '1 - Information');
    assert.deepEqual(env.resource, { 'host.name': 'nas1', 'deployment.environment.name': 'test' });
  });

  it('the seed\'s "<none>" id still parses (the source ignores event ids)', () => {
    const docs = SEED_LIFE_PRESERVER.replace('"id" : ""', '"id" : "<none>"');
    const msg = parseMessage(docs);
    assert.ok(typeof msg === 'object');
    assert.equal(msg.name, 'life-preserver');
  });

  it('turns system-state zpool strings into byte and percent gauges per pool', () => {
    const env = mapping().event('system-state', SYSTEM_STATE.args, 'fallback', 1_700_000_000_000);
    const p = env.metrics;
    const size = find(p, 'sysadm.zpool.size', { 'sysadm.zpool.name': 'tank' });
    assert.ok(size);
    assert.equal(size.value, 107 * GiB);
    assert.equal(size.unit, 'By');
    assert.equal(size.kind, 'gauge');
    assert.equal(size.int, true);
    assert.equal(size.timeMs, 1_700_000_000_000, 'system-state carries no time: arrival time');
    assert.equal(find(p, 'sysadm.zpool.allocated', { 'sysadm.zpool.name': 'tank' })?.value, Math.round(6.55 * GiB));
    assert.equal(find(p, 'sysadm.zpool.free', { 'sysadm.zpool.name': 'tank' })?.value, 100 * GiB);
    assert.equal(find(p, 'sysadm.zpool.size', { 'sysadm.zpool.name': 'backup' })?.value, Math.round(1.81 * 1024 * GiB));
    const frag = find(p, 'sysadm.zpool.fragmentation', { 'sysadm.zpool.name': 'backup' });
    assert.equal(frag?.value, 27);
    assert.equal(frag?.unit, '%');
    const cap = find(p, 'sysadm.zpool.capacity', { 'sysadm.zpool.name': 'tank' });
    assert.equal(cap?.value, 6);
    assert.equal(cap?.unit, '%');
    assert.equal(find(p, 'sysadm.zpool.dedup_ratio', { 'sysadm.zpool.name': 'backup' })?.value, 1.2);
    assert.equal(find(p, 'sysadm.zpool.expandable'), undefined, 'expandsz "-" is no value');
    assert.equal(env.resource['host.name'], 'nas1.example.org', "system-state's own hostname wins");
  });

  it('turns pool health and update status into state metrics: 1 for the current state, 0 for the others', () => {
    const p = mapping().event('system-state', SYSTEM_STATE.args, 'h', 1).metrics.toArray();
    const health = p.filter((x) => x.name === 'sysadm.zpool.health' && x.attributes['sysadm.zpool.name'] === 'backup');
    assert.equal(health.length, 7, 'ONLINE DEGRADED FAULTED OFFLINE UNAVAIL REMOVED SUSPENDED');
    assert.deepEqual(health.filter((x) => x.value === 1).map((x) => x.attributes.state), ['DEGRADED']);
    assert.equal(find(p, 'sysadm.zpool.health', { 'sysadm.zpool.name': 'tank', state: 'ONLINE' })?.value, 1);
    assert.equal(health[0]!.unit, '1');
    const upd = p.filter((x) => x.name === 'sysadm.updates.status');
    assert.equal(upd.length, 5);
    assert.deepEqual(upd.filter((x) => x.value === 1).map((x) => x.attributes.state), ['updatesavailable']);
  });

  it('keeps a state outside the table as its own point with value 1', () => {
    const args = { updates: { status: 'updatepaused' } };
    const p = mapping().event('system-state', args, 'h', 1).metrics.toArray().filter((x) => x.name === 'sysadm.updates.status');
    assert.equal(p.length, 6);
    assert.equal(find(p, 'sysadm.updates.status', { state: 'updatepaused' })?.value, 1);
  });

  it('knows SUSPENDED as a pool health: a state of the table, 1 for the suspended pool', () => {
    const args = { zpools: { tank: { health: 'SUSPENDED' } } };
    const p = mapping().event('system-state', args, 'h', 1).metrics.toArray().filter((x) => x.name === 'sysadm.zpool.health');
    assert.equal(p.length, 7);
    assert.deepEqual(p.filter((x) => x.value === 1).map((x) => x.attributes.state), ['SUSPENDED']);
    assert.deepEqual(withoutShiftedPools(args).shifted, []);
  });

  it('drops a zpool row whose columns shifted (health "1.00x") whole and names it; sound rows and args stay', () => {
    const args = {
      hostname: 'nas',
      zpools: {
        tank: { size: '107G', alloc: '6.55G', free: '100G', frag: '6%', expandsz: '-', dedup: '1.00x', altroot: '-', capacity: '6%', health: 'ONLINE' },
        // A newer zpool list's CKPOINT column moved every later field one place.
        backup: { size: '3.62T', alloc: '1.20T', free: '2.42T', frag: '-', expandsz: '-', dedup: '21%', altroot: 'ONLINE', capacity: '4%', health: '1.00x' },
      },
    };
    const r = withoutShiftedPools(args);
    assert.deepEqual(r.shifted, ['backup']);
    assert.deepEqual(Object.keys(r.args.zpools as object), ['tank']);
    assert.equal(r.args.hostname, 'nas');
    assert.deepEqual(Object.keys(args.zpools), ['tank', 'backup'], 'the frame itself is not changed');
    const clean = { zpools: { tank: args.zpools.tank } };
    assert.equal(withoutShiftedPools(clean).args, clean, 'no copy when every row is sound');
  });

  it('gives system-state a log record whose severity comes from its priority', () => {
    const r = mapping().event('system-state', SYSTEM_STATE.args, 'h', 1).logs[0]!;
    assert.equal(r.eventName, 'sysadm.system-state');
    assert.equal(r.severityText, 'WARN');
    assert.equal(r.severityNumber, 13);
    assert.match(r.body, /updates: updatesavailable/);
    assert.match(r.body, /backup DEGRADED/);
    assert.equal(r.attributes['sysadm.event.updates.details'], '12 packages');
    assert.equal(r.attributes['sysadm.event.zpools.tank.size'], undefined, 'pools are metrics, not attributes');
  });

  it('maps dispatcher events with their finish time, and warns on a non-zero return code', () => {
    const args = {
      state: 'finished', cmd_list: ['pkg upgrade -y'], process_id: 'sysadm_pkg_upgrade-1',
      time_started: '2016-01-28T11:00:00Z', time_finished: '2016-01-28T11:02:00Z', current_cmd: '',
      'return_codes/pkg upgrade -y': '1', queue_position: '0',
    };
    const r = mapping().event('dispatcher', args, 'h', 1).logs[0]!;
    assert.equal(r.eventName, 'sysadm.dispatcher');
    assert.equal(r.timeMs, Date.parse('2016-01-28T11:02:00Z'));
    assert.equal(r.body, 'sysadm_pkg_upgrade-1 finished');
    assert.equal(r.severityText, 'WARN');
    assert.equal(r.attributes['sysadm.event.cmd_list'], 'pkg upgrade -y');
    const ok = mapping().event('dispatcher', { ...args, 'return_codes/pkg upgrade -y': '0' }, 'h', 1).logs[0]!;
    assert.equal(ok.severityText, 'INFO');
  });

  it('grades priorities by number as protocols.md ranges them, and by word without a number', () => {
    assert.equal(prioritySeverity('0 - Information')?.severityText, 'INFO');
    assert.equal(prioritySeverity('2 - Information')?.severityText, 'INFO');
    assert.equal(prioritySeverity('3 - Warning')?.severityText, 'WARN');
    assert.equal(prioritySeverity('6 - Critical')?.severityText, 'ERROR');
    assert.equal(prioritySeverity('9 - Urgent')?.severityText, 'FATAL');
    assert.equal(prioritySeverity('10 - Urgent')?.severityNumber, 21);
    assert.equal(prioritySeverity('Critical')?.severityText, 'ERROR');
    assert.equal(prioritySeverity(undefined), undefined);
  });

  it('reads sysadm number strings: zpool sizes in powers of 1024, percents, ratios, temperatures', () => {
    assert.equal(sysadmNumber('107G'), 107 * GiB);
    assert.equal(sysadmNumber('512K'), 512 * 1024);
    assert.equal(sysadmNumber('1.5T'), 1.5 * 1024 * GiB);
    assert.equal(sysadmNumber('6%'), 6);
    assert.equal(sysadmNumber('1.00x'), 1);
    assert.equal(sysadmNumber('45.0C'), 45);
    assert.equal(sysadmNumber('-'), '-');
    assert.equal(sysadmNumber('ONLINE'), 'ONLINE');
  });

  it('maps the systemmanager poll replies: memory MiB → By, per-CPU busy %, temperatures in Cel', () => {
    const m = mapping();
    const mem = m.poll({ memorystats: { free: '1024', inactive: '2048', cache: '0', wired: '3072', active: '4096' } }, 'h', 5).metrics;
    assert.equal(find(mem, 'sysadm.memory.free')?.value, 1024 * 1024 * 1024);
    assert.equal(find(mem, 'sysadm.memory.active')?.unit, 'By');
    assert.equal(find(mem, 'sysadm.memory.cache')?.value, 0);
    assert.equal(mem.length, 5);
    const cpu = m.poll({ cpupercentage: { cpu0: { busy: '12' }, cpu1: { busy: '30' }, busytotal: '21' } }, 'h', 5).metrics;
    assert.equal(find(cpu, 'sysadm.cpu.busy', { cpu: 'cpu1' })?.value, 30);
    assert.equal(find(cpu, 'sysadm.cpu.busy', { cpu: 'total' })?.value, 21);
    assert.equal(find(cpu, 'sysadm.cpu.busy', { cpu: 'total' })?.unit, '%');
    assert.equal(cpu.length, 3);
    const temps = m.poll({ cputemps: { cpu0: '45.0C', cpu1: '47.5C' } }, 'h', 5).metrics;
    assert.equal(find(temps, 'sysadm.cpu.temperature', { cpu: 'cpu1' })?.value, 47.5);
    assert.equal(find(temps, 'sysadm.cpu.temperature', { cpu: 'cpu0' })?.unit, 'Cel');
  });

  it('lets the metrics config block override and drop default rules by path', () => {
    const m = new SysadmMapping('s', [
      { path: 'zpools.*.capacity', metric: 'custom.pool.used', unit: '1', scale: 0.01, key_attribute: 'pool' },
      { path: 'zpools.*.dedup', drop: true, metric: '' },
    ], {}, '0');
    const p = m.event('system-state', SYSTEM_STATE.args, 'h', 1).metrics;
    assert.equal(find(p, 'custom.pool.used', { pool: 'backup' })?.value, 0.8);
    assert.equal(find(p, 'sysadm.zpool.capacity'), undefined);
    assert.equal(find(p, 'sysadm.zpool.dedup_ratio'), undefined);
  });

  it('leaves a life-preserver message without a timestamp prefix whole', () => {
    assert.deepEqual(splitStampedMessage('Snapshot failed: disk full'), { text: 'Snapshot failed: disk full' });
    // Date.parse would read "tank 5" as May 2001.
    assert.deepEqual(splitStampedMessage('tank 5: replication failed'), { text: 'tank 5: replication failed' });
    assert.equal(splitStampedMessage('Thu Jan 28 11:34:29 UTC 2016: done').text, 'done');
  });
});
