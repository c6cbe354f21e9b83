import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/net.js';
import { sourceRig } from '../../helpers/capture.js';
import { buildConfig } from '../../../src/config/load.js';
import { GenericSimulator, type GenericSimulatorOptions } from '../../../src/simulators/websocket.js';
import type { WebSocketConfig } from '../../../src/sources/websocket/config.js';
import type { WebSocketSource } from '../../../src/sources/websocket/source.js';
import { authFailures, makeSource, rejected } from './harness.js';

// The websocket source against the generic simulator: login yielding a token (JSON path) or a cookie,
// the credential at the upgrade as a header, a cookie or in the URL, re-login on every reconnect, an
// application heartbeat against an idle timeout, and bad frames.

const USER = 'svc-ws2otel';
const PASSWORD = 'pw-7f3a9c1e';

describe('websocket source: login, heartbeat and frames against the generic simulator', () => {
  const rig = sourceRig<GenericSimulator, WebSocketSource>();

  async function start(simOpts: Partial<GenericSimulatorOptions>, name: string, extra: (s: GenericSimulator) => Record<string, unknown> = () => ({})) {
    const sim = await rig.serve(new GenericSimulator({ username: USER, password: PASSWORD, intervalMs: 20, record: true, ...simOpts }));
    const raw = {
      name, type: 'websocket', url: sim.url, username: USER, password: '${PW}',
      reconnect: { initial_interval: '50ms', max_interval: '200ms' },
      auth_retry: { initial_interval: '1s', max_interval: '1s' },
      login: { url: `${sim.base}/api/login`, body: { username: '{username}', password: '{password}' }, token_path: 'session.token' },
      headers: { Authorization: 'Bearer {token}' },
      messages: [{ op: 'subscribe', topics: ['metrics', 'events'] }],
      frames: {
        ready: { when: { path: 'type', equals: 'subscribed' } },
        ignore: { when: { path: 'type', equals: 'pong' } },
        metrics: { when: { path: 'type', equals: 'metric' }, time: { path: 'ts', unit: 'ms', from: 'frame' } },
        logs: {
          when: { path: 'type', equals: 'event' }, time: { path: 'time', unit: 'iso8601' },
          body_path: 'message', severity_path: 'level', event_name_path: 'kind', event_name_prefix: 'lab.',
          attributes: [{ path: 'topic', from: 'frame', attribute: 'lab.topic' }],
        },
      },
      payload: { path: 'payload' },
      resource_attributes: [{ path: 'host', attribute: 'host.name' }, { path: 'site', attribute: 'lab.site' }],
      metrics: [
        { path: 'cpu.util', metric: 'lab.cpu.utilization', unit: '%' },
        { path: 'mem.used_bytes', metric: 'lab.memory.used', unit: 'By', int: true },
        { path: 'ifaces.*.rx_bytes', metric: 'lab.interface.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'interface' },
      ],
      ...extra(sim),
    };
    const cfg = buildConfig({ sources: [raw], sinks: [{ name: 'out', type: 'file', path: '-' }] }, { PW: PASSWORD }).sources[0]!.config as WebSocketConfig;
    const made = makeSource(cfg);
    rig.run(made.source);
    return made.capture;
  }

  it('logs in, sends the token from the JSON path as a Bearer header, subscribes and maps both frame kinds', async () => {
    const cap = await start({ auth: 'bearer' }, 'gen-bearer');
    await waitFor('subscribed', () => rig.source!.status().connected);
    assert.equal(rig.sim!.logins, 1);
    assert.deepEqual(rig.sim!.clientMessages[0], { op: 'subscribe', topics: ['metrics', 'events'] });
    await waitFor('points and records', () => cap.points().length >= 12 && cap.records().length >= 3);

    const sentMetric = rig.sim!.sent.find((s) => s.type === 'metric')!.frame as { ts: number; payload: Record<string, any> };
    const mine = cap.points().filter((p) => p.timeMs === sentMetric.ts && p.resource['host.name'] === sentMetric.payload.host);
    assert.equal(mine.find((p) => p.name === 'lab.cpu.utilization')?.value, Number(sentMetric.payload.cpu.util));
    const eth1 = mine.find((p) => p.name === 'lab.interface.rx.bytes' && p.attributes.interface === 'eth1');
    assert.deepEqual([eth1?.value, eth1?.kind, eth1?.unit], [sentMetric.payload.ifaces.eth1.rx_bytes, 'counter', 'By']);
    assert.equal(mine[0]!.resource['lab.site'], 'lab');

    for (const r of cap.records()) {
      const sent = rig.sim!.sent.find((s) => s.type === 'event' && (s.frame.payload as { message: string }).message === r.body);
      assert.ok(sent, `record ${r.body} was sent`);
      const p = sent.frame.payload as Record<string, string>;
      assert.equal(r.timeMs, Date.parse(p.time!));
      assert.equal(r.eventName, `lab.${p.kind}`);
      assert.equal(r.severityText, { info: 'INFO', warning: 'WARN', error: 'ERROR' }[p.level!]);
      assert.equal(r.attributes['lab.topic'], 'events');
    }
  });

  it('keeps the Set-Cookie of the login and sends it at the upgrade', async () => {
    const cap = await start({ auth: 'cookie' }, 'gen-cookie', () => ({
      headers: {}, login: { url: `${rig.sim!.base}/api/login`, body: { username: '{username}', password: '{password}' }, cookie: 'SESSION' },
    }));
    await waitFor('data', () => cap.points().length > 0);
    assert.equal(rig.sim!.authFailures, 0);
  });

  it('puts the token into the socket URL when the URL asks for {token}', async () => {
    const cap = await start({ auth: 'url' }, 'gen-url', (s) => ({ url: `${s.url}/{token}`, headers: {} }));
    await waitFor('data', () => cap.points().length > 0);
    assert.equal(rig.sim!.authFailures, 0);
  });

  it('counts a refused login as an auth failure and does not open the socket', async () => {
    await start({ auth: 'bearer' }, 'gen-badlogin', (s) => ({
      login: { url: `${s.base}/api/login`, body: { username: '{username}', password: 'not-the-password' }, token_path: 'session.token' },
    }));
    await waitFor('two refused logins', () => rig.sim!.loginFailures >= 2);
    // The client counts a refusal when the answer reaches it, a moment after the server did.
    await waitFor('two refusals counted', async () => (await authFailures('gen-badlogin')) >= 2);
    assert.equal(rig.sim!.connections, 0);
  });

  it('logs in again before reconnecting after the server closes, and re-subscribes', async () => {
    const cap = await start({ auth: 'bearer' }, 'gen-relogin');
    await waitFor('subscribed', () => rig.source!.status().connected);
    const firstToken = rig.sim!.token;
    rig.sim!.closeAll(1012, 'service restart');
    await waitFor('second connection', () => rig.sim!.connections >= 2);
    assert.equal(rig.sim!.logins, 2, 'one login per connection');
    assert.notEqual(rig.sim!.token, firstToken);
    const seen = cap.points().length;
    await waitFor('data after reconnect', () => cap.points().length > seen);
    assert.equal(rig.sim!.clientMessages.filter((m) => (m as { op?: string }).op === 'subscribe').length, 2);
  });

  it('sends the heartbeat message so that an idle-timeout server keeps the connection', async () => {
    await start({ auth: 'bearer', idleTimeoutMs: 300, intervalMs: 1000 }, 'gen-heartbeat', () => ({ heartbeat: { message: { op: 'ping' }, interval: '100ms' } }));
    await waitFor('8 heartbeats', () => rig.sim!.pings >= 8, 10_000);
    assert.equal(rig.sim!.idleCloses, 0);
    assert.equal(rig.sim!.connections, 1);
    assert.equal(await rejected('gen-heartbeat', 'unmatched'), 0, 'pong replies are ignored by frames.ignore');
  });

  it('without a heartbeat the same server closes the idle connection (the control for the test above)', async () => {
    await start({ auth: 'bearer', idleTimeoutMs: 300, intervalMs: 1000 }, 'gen-noheartbeat');
    await waitFor('an idle close', () => rig.sim!.idleCloses >= 1, 10_000);
  });

  it('counts malformed, unknown and bad-payload frames while the stream goes on', async () => {
    const name = 'gen-faults';
    const cap = await start({ auth: 'bearer', faults: { malformedEvery: 2, unknownEvery: 3, badPayloadEvery: 4 } }, name);
    await waitFor('faults of each kind', async () =>
      (await rejected(name, 'malformed_json')) >= 2 && (await rejected(name, 'unmatched')) >= 2 && (await rejected(name, 'bad_payload')) >= 2);
    const seen = cap.points().length;
    await waitFor('points keep coming', () => cap.points().length > seen + 10);
    assert.equal(rig.sim!.connections, 1);
  });
});
