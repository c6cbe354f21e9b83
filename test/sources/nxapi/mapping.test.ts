import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Envelope } from '../../../src/model.js';
import { NxapiMapping, decodeMo, interfaceOf } from '../../../src/sources/nxapi/mapping.js';
import { NxapiClient } from '../../../src/sources/nxapi/rest.js';
import { HttpClient } from '../../../src/net/http.js';
import type { MetricRule } from '../../../src/mapping/rules.js';
import { checkNxapi, type NxapiConfig } from '../../../src/sources/nxapi/config.js';
import { SEED_NOTIFICATION, SEED_SUBSCRIBE_REPLY } from '../../fixtures/nxapi.js';

// The seed shows no counter object: these are in the DME's shape (class rmonIfIn at
// sys/intf/phys-[ethX/Y]/dbgIfIn, every value a string), with the attribute names of the NX-OS model.
const RMON_IN = {
  rmonIfIn: {
    attributes: {
      dn: 'sys/intf/phys-[eth1/1]/dbgIfIn', octets: '1234567890123', ucastPkts: '1000', multicastPkts: '20', broadcastPkts: '3',
      nUcastPkts: '23', discards: '4', errors: '5', unknownProtos: '6', childAction: '', status: '',
    },
  },
};
const RMON_OUT = { rmonIfOut: { attributes: { dn: 'sys/intf/phys-[eth1/1]/dbgIfOut', octets: '42', ucastPkts: '7', errors: '0', discards: '1', qLen: '0' } } };

function mapping(overrides: MetricRule[] = []) {
  return new NxapiMapping('sw1', overrides, { 'deployment.environment.name': 'test' }, 'switch1.example.net', '0.0.0-test');
}

describe('nxapi mapping: the seed examples', () => {
  it('reads the seed subscribe reply: its subscriptionId and an empty snapshot', async () => {
    const srv = createServer((req, res) => {
      assert.match(req.url ?? '', /^\/api\/mo\/sys\/intf\/phys-\[eth1\/1\]\.json\?subscription=yes$/);
      assert.equal(req.headers.cookie, 'APIC-cookie=tok+/=');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(SEED_SUBSCRIBE_REPLY);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const http = new HttpClient();
    try {
      const client = new NxapiClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000, http, maxReplyBytes: 1024 * 1024 });
      const sub = await client.subscribe('/api/mo/sys/intf/phys-[eth1/1].json', 'tok+/=', { refreshTimeoutS: 0 });
      assert.equal(sub.id, '18374686685813276673');
      assert.deepEqual(sub.imdata, []);
      const { envelope, bad } = mapping().snapshot('/api/mo/sys/intf/phys-[eth1/1].json', sub.imdata, 1);
      assert.equal(bad, 0);
      assert.equal(envelope.metrics.length + envelope.logs.length, 0);
    } finally {
      http.close();
      srv.close();
    }
  });

  it('turns the seed notification (descr changed to "test") into one modified log record at its modTs', () => {
    const msg = JSON.parse(SEED_NOTIFICATION) as { subscriptionId: string[]; imdata: unknown[] };
    const { envelope, bad } = mapping().notification(msg.subscriptionId, msg.imdata, 1_700_000_000_000);
    assert.equal(bad, 0);
    assert.equal(envelope.metrics.length, 0, 'a descr change carries no number');
    assert.equal(envelope.logs.length, 1);
    const r = envelope.logs[0]!;
    assert.equal(r.timeMs, Date.UTC(2019, 9, 18, 19, 42, 29, 446));
    assert.equal(r.observedMs, 1_700_000_000_000);
    assert.equal(r.eventName, 'nxapi.mo.modified');
    assert.equal(r.body, 'l1PhysIf sys/intf/phys-[eth1/1] modified');
    assert.equal(r.severityText, 'INFO');
    assert.equal(r.severityNumber, 9);
    assert.deepEqual(r.attributes, {
      'nxapi.class': 'l1PhysIf', 'nxapi.dn': 'sys/intf/phys-[eth1/1]', 'nxapi.status': 'modified',
      'nxapi.subscription_ids': '18374686685813276673', 'network.interface.name': 'eth1/1', 'nxapi.attr.descr': 'test',
    });
    assert.deepEqual(envelope.resource, { 'device.manufacturer': 'Cisco', 'host.name': 'switch1.example.net', 'deployment.environment.name': 'test' });
    assert.equal(envelope.scope.name, 'ws2otel/nxapi');
  });

  it('lists every subscription id a notification serves', () => {
    const msg = JSON.parse(SEED_NOTIFICATION) as { imdata: unknown[] };
    const { envelope } = mapping().notification(['18374686685813276673', '18374686685813276674'], msg.imdata, 1);
    assert.equal(envelope.logs[0]!.attributes['nxapi.subscription_ids'], '18374686685813276673,18374686685813276674');
  });
});

describe('nxapi mapping: interface counters and states', () => {
  it('maps rmonIfIn/rmonIfOut string counters to nxapi.interface.* counters with units, direction and interface', () => {
    const { envelope } = mapping().snapshot('/api/class/rmonIfIn.json', [RMON_IN, RMON_OUT], 5000);
    const find = (name: string, attrs: Record<string, string>) =>
      envelope.metrics.toArray().find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
    const rx = { 'network.io.direction': 'receive', 'network.interface.name': 'eth1/1' };
    const tx = { 'network.io.direction': 'transmit', 'network.interface.name': 'eth1/1' };

    const io = find('nxapi.interface.io', rx)!;
    assert.equal(io.value, 1234567890123);
    assert.equal(io.unit, 'By');
    assert.equal(io.kind, 'counter');
    assert.equal(io.int, true);
    assert.equal(io.timeMs, 5000, 'a snapshot is stamped with its arrival');
    assert.equal(find('nxapi.interface.io', tx)!.value, 42);
    assert.equal(find('nxapi.interface.packets', { ...rx, 'nxapi.packet.cast': 'unicast' })!.value, 1000);
    assert.equal(find('nxapi.interface.packets', { ...rx, 'nxapi.packet.cast': 'multicast' })!.value, 20);
    assert.equal(find('nxapi.interface.packets', { ...rx, 'nxapi.packet.cast': 'broadcast' })!.value, 3);
    assert.equal(find('nxapi.interface.packets', { ...tx, 'nxapi.packet.cast': 'unicast' })!.unit, '{packet}');
    const err = find('nxapi.interface.errors', rx)!;
    assert.equal(err.value, 5);
    assert.equal(err.unit, '{error}');
    assert.equal(err.kind, 'counter');
    assert.equal(find('nxapi.interface.discards', rx)!.value, 4);
    assert.equal(find('nxapi.interface.discards', tx)!.value, 1);
    assert.equal(find('nxapi.interface.unknown_protocols', rx)!.value, 6);
    // 7 in, 4 out (qLen and nUcastPkts are not mapped) and no log records for a mapped snapshot.
    assert.equal(envelope.metrics.length, 11);
    assert.equal(envelope.logs.length, 0);
  });

  it('maps interface states to 0/1 gauges and speeds to bit/s, and grades a port that went down WARN', () => {
    const m = mapping();
    const ethpm = { ethpmPhysIf: { attributes: { dn: 'sys/intf/phys-[eth1/2]/phys', operSt: 'down', operSpeed: '10G', operMtu: '9216', modTs: '2024-01-02T03:04:05.000+00:00', status: 'modified' } } };
    const { envelope } = m.notification(['1'], [ethpm], 1);
    const byName = (n: string) => envelope.metrics.toArray().find((p) => p.name === n);
    assert.equal(byName('nxapi.interface.oper.status')!.value, 0);
    assert.equal(byName('nxapi.interface.oper.status')!.kind, 'gauge');
    assert.equal(byName('nxapi.interface.oper.status')!.timeMs, Date.UTC(2024, 0, 2, 3, 4, 5), 'a notification point is stamped with modTs');
    assert.equal(byName('nxapi.interface.speed')!.value, 10e9);
    assert.equal(byName('nxapi.interface.speed')!.unit, 'bit/s');
    assert.equal(byName('nxapi.interface.oper.mtu')!.value, 9216);
    assert.equal(envelope.logs[0]!.severityText, 'WARN');
    assert.equal(envelope.logs[0]!.attributes['network.interface.name'], 'eth1/2');

    const up = m.notification(['1'], [{ ethpmPhysIf: { attributes: { dn: 'sys/intf/phys-[eth1/2]/phys', operSt: 'up', status: 'modified' } } }], 1).envelope;
    assert.equal(up.metrics.at(0).value, 1);
    assert.equal(up.logs[0]!.severityText, 'INFO');

    const shut = m.snapshot('q', [{ l1PhysIf: { attributes: { dn: 'sys/intf/phys-[eth1/4]', adminSt: 'down', mtu: '1500' } } }], 1).envelope;
    assert.equal(shut.metrics.toArray().find((p) => p.name === 'nxapi.interface.admin.status')!.value, 0);
    assert.equal(shut.metrics.toArray().find((p) => p.name === 'nxapi.interface.mtu')!.value, 1500);
  });

  it('says which state an interface is in beyond up/down: sfp-missing is a state series at 1 (oper.status 0), and 0 once the port is up', () => {
    const m = mapping();
    const dn = 'sys/intf/phys-[eth1/7]/phys';
    const states = (env: Envelope) =>
      Object.fromEntries(env.metrics.toArray().filter((p) => p.name === 'nxapi.interface.oper.state').map((p) => [String(p.attributes.state), p.value]));
    const missing = m.notification(['1'], [{ ethpmPhysIf: { attributes: { dn, operSt: 'sfp-missing', status: 'modified' } } }], 1).envelope;
    assert.equal(missing.metrics.toArray().find((p) => p.name === 'nxapi.interface.oper.status')!.value, 0, 'the 0/1 gauge folds it into not-up');
    assert.deepEqual(states(missing), { up: 0, down: 0, 'sfp-missing': 1 });
    assert.equal(missing.metrics.toArray().find((p) => p.name === 'nxapi.interface.oper.state')!.attributes['network.interface.name'], 'eth1/7');
    const up = m.notification(['1'], [{ ethpmPhysIf: { attributes: { dn, operSt: 'up', status: 'modified' } } }], 1).envelope;
    assert.deepEqual(states(up), { up: 1, down: 0, 'sfp-missing': 0 }, 'the word seen before is reported 0, not left at 1');
    const admin = m.snapshot('q', [{ l1PhysIf: { attributes: { dn: 'sys/intf/phys-[eth1/8]', adminSt: 'down' } } }], 1).envelope;
    assert.deepEqual(
      Object.fromEntries(admin.metrics.toArray().filter((p) => p.name === 'nxapi.interface.admin.state').map((p) => [String(p.attributes.state), p.value])),
      { up: 0, down: 1 },
    );
  });

  it('dates a counter from its first sight and restarts that date when the counter goes down', () => {
    const m = mapping();
    const at = (octets: string, t: number) =>
      m.notification(['1'], [{ rmonIfIn: { attributes: { dn: 'sys/intf/phys-[eth1/1]/dbgIfIn', octets, status: 'modified' } } }], t).envelope.metrics.at(0);
    assert.equal(at('100', 1000).startTimeMs, 1000);
    assert.equal(at('200', 2000).startTimeMs, 1000);
    const reset = at('5', 3000);
    assert.equal(reset.startTimeMs, 3000, 'a counter that went down was cleared');
    assert.equal(at('9', 4000).startTimeMs, 3000);
  });

  it('records a deleted object and emits no points for it', () => {
    const { envelope } = mapping().notification(['1'], [{ rmonIfIn: { attributes: { dn: 'sys/intf/phys-[eth1/9]/dbgIfIn', octets: '1', status: 'deleted' } } }], 1);
    assert.equal(envelope.metrics.length, 0);
    assert.equal(envelope.logs[0]!.eventName, 'nxapi.mo.deleted');
  });

  it('turns snapshot objects of unmapped classes into nxapi.mo.snapshot records and counts non-objects as bad', () => {
    const { envelope, bad } = mapping().snapshot('/api/mo/sys.json', [{ topSystem: { attributes: { dn: 'sys', name: 'n9k-1', serial: 'FDO1' } } }, { nope: 1 }, 'x'], 1);
    assert.equal(bad, 2);
    assert.equal(envelope.logs.length, 1);
    const r = envelope.logs[0]!;
    assert.equal(r.eventName, 'nxapi.mo.snapshot');
    assert.equal(r.attributes['nxapi.query'], '/api/mo/sys.json');
    assert.equal(r.attributes['nxapi.attr.name'], 'n9k-1');
    assert.equal(r.attributes['nxapi.dn'], 'sys');
  });

  it('treats a re-subscribe snapshot as state: an object known unchanged yields no second record, a changed one one snapshot record', () => {
    const m = mapping();
    const sys = (name: string) => ({ topSystem: { attributes: { dn: 'sys', name, serial: 'FDO1', status: '', modTs: '2026-01-01T00:00:00.000+00:00' } } });
    const fault = { faultInst: { attributes: { dn: 'sys/fault-F1', severity: 'major', code: 'F1', status: '' } } };
    assert.equal(m.snapshot('/api/mo/sys.json', [sys('n9k-1'), fault], 1).envelope.logs.length, 2, 'the first snapshot shows the current state');
    // A reconnect's re-subscribe: the same objects again.
    assert.deepEqual(m.snapshot('/api/mo/sys.json', [sys('n9k-1'), fault], 2).envelope.logs, [], 'the same state came out twice');
    // Renamed while the socket was down: the snapshot says so once, as state, not as a change event.
    const changed = m.snapshot('/api/mo/sys.json', [sys('n9k-2'), fault], 3).envelope.logs;
    assert.deepEqual(changed.map((r) => [r.eventName, r.attributes['nxapi.attr.name'], r.attributes['nxapi.status']]), [['nxapi.mo.snapshot', 'n9k-2', undefined]]);
  });

  it('counts a modified notification into what is known: the next snapshot showing that state yields no record', () => {
    const m = mapping();
    m.snapshot('q', [{ faultInst: { attributes: { dn: 'sys/fault-F1', severity: 'major', code: 'F1' } } }], 1);
    const note = m.notification(['1'], [{ faultInst: { attributes: { dn: 'sys/fault-F1', severity: 'cleared', status: 'modified' } } }], 2).envelope.logs;
    assert.equal(note[0]!.eventName, 'nxapi.mo.modified', 'a socket notification is a change event');
    assert.deepEqual(m.snapshot('q', [{ faultInst: { attributes: { dn: 'sys/fault-F1', severity: 'cleared', code: 'F1' } } }], 3).envelope.logs, []);
    m.notification(['1'], [{ faultInst: { attributes: { dn: 'sys/fault-F1', status: 'deleted' } } }], 4);
    assert.equal(m.snapshot('q', [{ faultInst: { attributes: { dn: 'sys/fault-F1', severity: 'major', code: 'F1' } } }], 5).envelope.logs.length, 1, 'raised again after its deletion');
  });

  it('grades faults by their severity attribute', () => {
    const sev = (s: string) => mapping().notification(['1'], [{ faultInst: { attributes: { dn: `sys/fault-F${s}`, severity: s, status: 'created' } } }], 1).envelope.logs[0]!.severityText;
    assert.equal(sev('critical'), 'FATAL');
    assert.equal(sev('major'), 'ERROR');
    assert.equal(sev('minor'), 'WARN');
    assert.equal(sev('cleared'), 'INFO');
  });

  it('lets the metrics block drop a default and add a rule for any class', () => {
    const m = mapping([
      { path: 'rmonIfIn.attributes.unknownProtos', metric: '', drop: true },
      { path: 'rmonEtherStats.attributes.cRCAlignErrors', metric: 'nxapi.interface.crc_errors', unit: '{error}', type: 'counter' },
    ]);
    const { envelope } = m.snapshot('q', [RMON_IN, { rmonEtherStats: { attributes: { dn: 'sys/intf/phys-[eth1/3]/dbgEtherStats', cRCAlignErrors: '17' } } }], 1);
    assert.ok(!envelope.metrics.toArray().some((p) => p.name === 'nxapi.interface.unknown_protocols'));
    const crc = envelope.metrics.toArray().find((p) => p.name === 'nxapi.interface.crc_errors')!;
    assert.equal(crc.value, 17);
    assert.equal(crc.attributes['network.interface.name'], 'eth1/3');
  });

  it('keys objects outside an interface by their dn', () => {
    const m = mapping([{ path: 'procSysCpuSummary.attributes.idle', metric: 'nxapi.cpu.idle', unit: '%' }]);
    const p = m.snapshot('q', [{ procSysCpuSummary: { attributes: { dn: 'sys/procsys/syscpusummary', idle: '93.5' } } }], 1).envelope.metrics.at(0);
    assert.equal(p.value, 93.5);
    assert.equal(p.int, false);
    assert.deepEqual(p.attributes, { 'nxapi.dn': 'sys/procsys/syscpusummary' });
  });

  it('decodes dns and objects', () => {
    assert.equal(interfaceOf('sys/intf/aggr-[po10]/dbgIfIn'), 'po10');
    assert.equal(interfaceOf('topology/pod-1/node-101/sys/phys-[eth1/49]'), 'eth1/49');
    assert.equal(interfaceOf('sys/bgp/inst/dom-default/peer-[10.0.0.1]'), undefined);
    assert.equal(decodeMo({ a: { attributes: { dn: 'x' } }, b: {} }), undefined, 'one class key per object');
    assert.equal(decodeMo({ a: { attributes: { dn: '' } } }), undefined);
  });
});

describe('nxapi config checks', () => {
  const base = {
    url: 'https://switch1', urls: [], platform: 'nxos', queries: ['/api/class/rmonIfIn.json'], subscription_refresh_interval: 30_000,
    subscription_refresh_timeout: 0, page_size: 10_000, request_timeout: 10_000, metrics: [],
  } as unknown as NxapiConfig;
  it('accepts class and mo queries and refuses others, subscription= and long refresh intervals', () => {
    assert.deepEqual(checkNxapi({ ...base, queries: ['/api/class/rmonIfIn.json', '/api/mo/sys/intf/phys-[eth1/1].json?rsp-subtree=children', '/api/node/class/faultInst.json'] }), []);
    assert.match(checkNxapi({ ...base, queries: ['/api/rmonIfIn'] }).join(), /queries\[0\]/);
    assert.match(checkNxapi({ ...base, queries: ['/api/class/a.json?subscription=yes'] }).join(), /leave out subscription/);
    assert.match(checkNxapi({ ...base, subscription_refresh_interval: 90_000 }).join(), /at most 60s/);
    assert.match(checkNxapi({ ...base, metrics: [{ path: 'octets', metric: 'x' }] }).join(), /metrics\[0\]\.path/);
  });

  it('checks refresh-timeout, the refresh interval against it, page_size and url or urls', () => {
    assert.deepEqual(checkNxapi({ ...base, subscription_refresh_timeout: 300_000, subscription_refresh_interval: 0 }), []);
    assert.deepEqual(checkNxapi({ ...base, url: '', urls: ['https://apic1', 'https://apic2'] }), []);
    assert.match(checkNxapi({ ...base, subscription_refresh_timeout: 1_801_000 }).join(), /subscription_refresh_timeout: must be between 1000 ms and 1800000 ms/);
    assert.match(checkNxapi({ ...base, subscription_refresh_timeout: 500 }).join(), /subscription_refresh_timeout: must be between/);
    assert.match(checkNxapi({ ...base, subscription_refresh_timeout: 2500 }).join(), /subscription_refresh_timeout: must be whole seconds/);
    assert.match(checkNxapi({ ...base, subscription_refresh_timeout: 10_000, subscription_refresh_interval: 11_000 }).join(), /subscription_refresh_interval: must be at most 10s \(the subscription deadline/);
    assert.match(checkNxapi({ ...base, subscription_refresh_interval: 10 }).join(), /subscription_refresh_interval: must be at least 100 ms/);
    assert.match(checkNxapi({ ...base, page_size: 0 }).join(), /page_size: must be between 1 and 100000/);
    assert.match(checkNxapi({ ...base, url: '' }).join(), /url: is required/);
    assert.match(checkNxapi({ ...base, urls: ['https://apic1'] }).join(), /urls: give url or urls, not both/);
    assert.match(checkNxapi({ ...base, url: '', urls: ['https://a', 'https://a'] }).join(), /urls: each controller may appear only once/);
  });
});
