import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { otlpSink, pipeline } from '../helpers/e2e.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';
import { GenericSimulator } from '../../src/simulators/websocket.js';

// Two `type: websocket` sources in one ws2otel child process, into the real OpenTelemetry Collector:
// - Mist reached by configuration alone: the source entry of config/examples/websocket.yaml, as a
//   user would copy it, against the Mist simulator;
// - the generic simulator's API: login with a password, session cookie at the upgrade, heartbeat.
// Assertions are on what the Collector wrote.

// The Collector's file exporter may be caught mid-line while the lab source keeps streaming: the
// harness's JSON.parse then throws. Read again until a read is whole.
async function whole<T>(read: () => T): Promise<T> {
  const [v] = await waitFor('a whole read of the Collector output', () => {
    try {
      return [read()] as const;
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  });
  return v;
}

const EXAMPLE = fileURLToPath(new URL('../../../config/examples/websocket.yaml', import.meta.url));
const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'e2e-generic-mist-token-9876';
const PASSWORD = 'e2e-lab-password-5555';
const FRAMES = 20;
const POINTS_PER_FRAME = 11; // uptime, clients, cpu, memory, 5 BLE counters, clients of 2 radios

describe('websocket source → OTLP/HTTP → Collector', () => {
  const mist = new MistSimulator({ token: TOKEN, devices: 2, intervalMs: 30, count: FRAMES, eventsEveryMs: 100, record: 'payloads' });
  const LAB = { username: 'svc', password: PASSWORD, auth: 'cookie', intervalMs: 50, idleTimeoutMs: 400, record: true } as const;
  const lab = new GenericSimulator(LAB);
  /** The lab simulator started again on the same port by the gap test. */
  let labAgain: GenericSimulator | undefined;
  after(() => labAgain?.stop());
  const e2e = pipeline({
    sims: [mist, lab],
    config: (collector) => {
      const example = parse(readFileSync(EXAMPLE, 'utf8')) as { sources: Record<string, unknown>[] };
      return {
        log_level: 'debug',
        sources: [
          example.sources[0],
          {
            name: 'lab', type: 'websocket', url: lab.url, username: 'svc', password: '${LAB_PASSWORD}',
            login: { url: `${lab.base}/api/login`, body: { username: '{username}', password: '{password}' }, cookie: 'SESSION' },
            messages: ['{"op":"subscribe","topics":["metrics","events"]}'],
            heartbeat: { message: { op: 'ping' }, interval: '100ms' },
            payload: { path: 'payload' },
            frames: {
              ready: { when: { path: 'type', equals: 'subscribed' } },
              ignore: { when: { path: 'type', equals: 'pong' } },
              metrics: { when: { path: 'type', equals: 'metric' }, time: { path: 'ts', unit: 'ms', from: 'frame' }, uptime: { path: 'uptime_s', unit: 's' } },
              logs: { when: { path: 'type', equals: 'event' }, time: { path: 'time', unit: 'iso8601' }, body_path: 'message', severity_path: 'level', event_name_path: 'kind', event_name_prefix: 'lab.' },
            },
            resource_attributes: [{ path: 'host', attribute: 'host.name' }],
            metrics: [{ path: 'ifaces.*.rx_bytes', metric: 'lab.interface.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'interface' }],
          },
        ],
        sinks: [otlpSink(collector, { max_events: 10 })],
      };
    },
    // The simulators' URLs exist once they have started: the env is read when the daemon starts.
    env: () => ({ MIST_TOKEN: TOKEN, MIST_SITE_ID: SITE, MIST_WS_URL: mist.url, LAB_PASSWORD: PASSWORD }),
  });
  const { collector } = e2e;

  it('delivers every Mist device stat mapped by configuration, with unit, type, value, sample and start time', async () => {
    await mist.done;
    // The Mist data: the source's own up gauge carries the same resource, under its own scope.
    const mine = () => whole(() => collector.points().filter((p) => p.resource['device.manufacturer'] === 'Juniper Mist' && p.scope === 'ws2otel/websocket'));
    await waitFor('all Mist points at the Collector', async () => (await mine()).length >= FRAMES * POINTS_PER_FRAME, 30_000);
    const points = await mine();
    assert.equal(points.length, FRAMES * POINTS_PER_FRAME);
    for (const { payload } of mist.sent) {
      // _time is float seconds: compare in ms with a tolerance for the float → nanosecond rounding.
      const tMs = (payload._time as number) * 1000;
      const at = points.filter((p) => p.resource['device.id'] === payload.mac && Math.abs(Number(p.timeUnixNano) / 1e6 - tMs) < 0.01);
      const uptime = at.find((p) => p.name === 'mist.device.uptime');
      assert.ok(uptime, `uptime of ${String(payload.mac)}`);
      assert.deepEqual([uptime.value, uptime.unit, uptime.type, uptime.scope], [payload.uptime, 's', 'gauge', 'ws2otel/websocket']);
      const rx = at.find((p) => p.name === 'mist.device.ble.rx.bytes');
      assert.ok(rx);
      assert.deepEqual([rx.value, rx.unit, rx.type, rx.monotonic, rx.temporality], [(payload.ble_stat as Record<string, number>).rx_bytes, 'By', 'sum', true, 2]);
      const startMs = (payload._time as number) * 1000 - (payload.uptime as number) * 1000;
      assert.ok(Math.abs(Number(rx.startTimeUnixNano / 1_000_000n) - startMs) <= 1);
      assert.equal(uptime.resource['mist.site.id'], SITE);
      assert.equal(uptime.resource['device.name'], payload.name);
    }
  });

  it('delivers Mist device events as log records with severity, event name and time', async () => {
    const mine = () => whole(() => collector.records().filter((r) => r.resource['device.manufacturer'] === 'Juniper Mist' && r.scope === 'ws2otel/websocket'));
    await waitFor('Mist events at the Collector', async () => (await mine()).length >= 5, 20_000);
    for (const r of (await mine()).slice(0, 5)) {
      const sent = mist.sentEvents.find((e) => e.payload.text === r.body);
      assert.ok(sent, `record ${String(r.body)} was sent`);
      assert.equal(r.eventName, `mist.${sent.payload.type as string}`);
      assert.equal(r.attributes['mist.event.type'], sent.payload.type);
      assert.equal(r.timeUnixNano / 1_000_000n, BigInt(Math.round((sent.payload.timestamp as number) * 1000)));
      const warn = /DISCONNECTED|FAILED/.test(sent.payload.type as string);
      assert.deepEqual([r.severityText, r.severityNumber], warn ? ['WARN', 13] : ['INFO', 9]);
    }
  });

  it('delivers the login-and-cookie source: counters per interface and events with ISO times', async () => {
    await waitFor('lab points and records', async () =>
      (await whole(() => collector.points())).some((p) => p.name === 'lab.interface.rx.bytes') &&
      (await whole(() => collector.records())).some((r) => String(r.eventName).startsWith('lab.')), 20_000);
    const p = (await whole(() => collector.points())).find((x) => x.name === 'lab.interface.rx.bytes' && x.attributes.interface === 'eth0')!;
    const sent = lab.sent.find((s) => s.type === 'metric' && BigInt(s.frame.ts as number) * 1_000_000n === p.timeUnixNano && (s.frame.payload as { host: string }).host === p.resource['host.name']);
    assert.ok(sent, 'the point matches a sent frame by its own time and host');
    const payload = sent.frame.payload as { uptime_s: number; ifaces: { eth0: { rx_bytes: number } } };
    assert.equal(p.value, payload.ifaces.eth0.rx_bytes);
    assert.equal(Number(p.timeUnixNano - p.startTimeUnixNano) / 1e9, payload.uptime_s);
    const r = (await whole(() => collector.records())).find((x) => String(x.eventName).startsWith('lab.'))!;
    const ev = lab.sent.find((s) => s.type === 'event' && (s.frame.payload as { message: string }).message === r.body)!;
    assert.ok(ev);
    assert.equal(r.timeUnixNano / 1_000_000n, BigInt(Date.parse((ev.frame.payload as { time: string }).time)));
    assert.equal(lab.idleCloses, 0, 'the heartbeat kept the idle-timeout server content');
  });

  it('says when the lab source was blind: up 1, 0, 1 at the Collector and one gap record with its start, end and cause', async () => {
    const ups = async () => (await whole(() => collector.points()))
      .filter((p) => p.name === 'ws2otel.source.up' && p.resource['ws2otel.source.name'] === 'lab')
      .sort((a, b) => Number(a.timeUnixNano - b.timeUnixNano));
    const gaps = async () => (await whole(() => collector.records()))
      .filter((r) => r.eventName === 'ws2otel.source.gap' && r.resource['ws2otel.source.name'] === 'lab');
    await waitFor('lab up', async () => (await ups()).some((p) => p.value === 1), 20_000);
    assert.equal((await gaps()).length, 0, 'no gap before the simulator stops');
    const down = Date.now();
    await lab.stop();
    await waitFor('lab up 0 after the stop', async () => (await ups()).some((p) => p.value === 0 && Number(p.timeUnixNano / 1_000_000n) >= down), 20_000);
    labAgain = new GenericSimulator({ ...LAB, port: lab.port });
    await labAgain.start();
    const gap = (await waitFor('one gap record', async () => (await gaps())[0], 30_000));
    const up = await ups();
    const last0 = up.filter((p) => p.value === 0).at(-1)!;
    assert.ok(up.some((p) => p.value === 1 && p.timeUnixNano > last0.timeUnixNano), 'up again after the restart');
    assert.equal(up[0]!.scope, 'ws2otel/source');
    const start = Date.parse(String(gap.attributes['ws2otel.gap.start']));
    const end = Date.parse(String(gap.attributes['ws2otel.gap.end']));
    assert.ok(start >= down && end > start, `gap from ${start} to ${end}, stopped at ${down}`);
    assert.ok(Math.abs(Number(gap.attributes['ws2otel.gap.duration']) - (end - start) / 1000) < 0.002);
    assert.equal(gap.attributes['ws2otel.gap.cause'], 'closed');
    assert.equal(gap.severityText, 'WARN');
    assert.equal((await gaps()).length, 1);
  });

  it('exits 0 on SIGTERM and never logs the token, the password or the session cookie', async () => {
    assert.equal(await e2e.daemon.stop('SIGTERM'), 0);
    const out = e2e.daemon.stdout + e2e.daemon.stderr;
    assert.ok(out.includes('session established'), 'the log is there to search');
    assert.ok(lab.logins >= 1 && lab.cookie);
    for (const secret of [TOKEN, PASSWORD, lab.cookie, labAgain?.cookie]) if (secret) assert.ok(!out.includes(secret), 'a secret leaked into a log line');
  });
});
