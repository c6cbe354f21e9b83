import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Collector } from '../helpers/collector.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// A hostile Mist stream → ws2otel (child process) → the real OpenTelemetry Collector. Before every 5th
// good stats frame the simulator sends frames that once killed the source (10,000-deep nesting), stalled
// a JSON sink (1e999), made the Collector refuse whole batches or arrive wrong (1e20, _time -5), blew up
// a request (5,000 radios) or closed the socket (invalid UTF-8). Every good frame must still arrive whole,
// and everything that arrives must be a value the Collector took as sent.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'e2e-hostile-token-1234';
const FRAMES = 30;
const POINTS_PER_FRAME = 35;
const CAP = 200;

for (const encoding of ['proto', 'json'] as const) {
  describe(`hostile Mist stream → OTLP/HTTP (${encoding}) → Collector`, () => {
    const collector = new Collector();
    const sim = new MistSimulator({ token: TOKEN, devices: 2, intervalMs: 40, count: FRAMES, record: 'payloads', faults: { hostileEvery: 5 } });
    let daemon: DaemonProcess;
    const startedMs = Date.now();

    before(async () => {
      await collector.start();
      await sim.start();
      daemon = new DaemonProcess({
        sources: [{
          name: 'mist-hostile', type: 'mist', url: sim.url, token: '${MIST_TOKEN}',
          channels: [`/sites/${SITE}/stats/devices`], limits: { points_per_frame: CAP },
        }],
        sinks: [{ name: 'collector', type: 'otlp_http', endpoint: collector.endpoint, encoding, batch: { max_events: 10, timeout: '100ms' } }],
      }, { MIST_TOKEN: TOKEN });
      await daemon.start();
    });

    after(async () => {
      await daemon?.stop();
      await sim.stop();
      await collector.stop();
    });

    it('delivers every good frame whole while hostile frames are counted, cut or corrected', async () => {
      await sim.done;
      // The Mist data only: the source's own up gauge (scope ws2otel/source) is not a device's point.
      const good = () => collector.points().filter((p) => p.scope === 'ws2otel/mist' && !String(p.resource['device.id']).startsWith('hostile-'));
      await waitFor('every good point at the Collector', () => good().length >= FRAMES * POINTS_PER_FRAME, 60_000).catch(async (err: Error) => {
        const m = (await daemon.metrics()).split('\n').filter((l) => /^ws2otel_(sink|source)_/.test(l) && !/ 0$/.test(l));
        throw new Error(`${err.message}: ${good().length} good points; ${m.join('; ')}`);
      });
      assert.equal(good().length, FRAMES * POINTS_PER_FRAME, 'no good point lost, none twice');
      for (const { payload } of sim.sent) {
        const t = BigInt(Math.round((payload._time as number) * 1e6)) * 1000n;
        const uptime = good().find((p) => p.resource['device.id'] === payload.mac && p.name === 'mist.device.uptime' && p.timeUnixNano / 1000n === t / 1000n);
        assert.equal(uptime?.value, payload.uptime, `uptime of ${payload.mac as string} at ${t}`);
      }

      const sockets = await daemon.metric('ws2otel_source_reconnects_total', { source: 'mist-hostile' });
      assert.equal(sockets, 0, 'no hostile frame cost the connection');
      assert.ok((await daemon.metric('ws2otel_source_frames_rejected_total', { source: 'mist-hostile', reason: 'invalid_utf8' })) >= 1);
      assert.ok((await daemon.metric('ws2otel_source_frames_rejected_total', { source: 'mist-hostile', reason: 'unknown_channel' })) >= 1);
      assert.ok((await daemon.metric('ws2otel_source_frames_rejected_total', { source: 'mist-hostile', reason: 'too_many_points' })) >= 1);
      assert.ok((await daemon.metric('ws2otel_source_values_rejected_total', { source: 'mist-hostile', reason: 'bad_timestamp' })) >= 2);
      assert.ok((await daemon.metric('ws2otel_source_values_rejected_total', { source: 'mist-hostile', reason: 'negative_counter' })) >= 1);
    });

    it('lets only values the Collector took as sent through: plausible times, finite numbers, 1e20 as a double', async () => {
      const hostile = collector.points().filter((p) => String(p.resource['device.id']).startsWith('hostile-'));
      const now = BigInt(Date.now() + 24 * 3600_000) * 1_000_000n;
      const y2000 = 946_684_800_000n * 1_000_000n;
      for (const p of collector.points()) {
        assert.ok(Number.isFinite(p.value), `${p.name} ${p.value}`);
        assert.ok(p.timeUnixNano >= y2000 && p.timeUnixNano <= now, `${p.name} at ${p.timeUnixNano}`);
        if (p.type === 'sum' && p.monotonic) assert.ok(p.value >= 0, `${p.name} ${p.value}`);
      }
      const big = hostile.find((p) => p.resource['device.id'] === 'hostile-big' && p.name === 'mist.device.tx.bytes');
      assert.equal(big?.value, 1e20, 'sent as a double, not wrapped to 7766279631452241920');
      assert.ok(big.timeUnixNano >= BigInt(startedMs) * 1_000_000n, '_time 1e20 replaced by the arrival time');
      const old = hostile.find((p) => p.resource['device.id'] === 'hostile-old' && p.name === 'mist.device.cpu.utilization');
      assert.ok(old && old.timeUnixNano >= BigInt(startedMs) * 1_000_000n, '_time -5 replaced by the arrival time');
      assert.equal(hostile.find((p) => p.resource['device.id'] === 'hostile-old' && p.name === 'mist.device.clients'), undefined, '"0x10" is not 16');
      const wide = hostile.filter((p) => p.resource['device.id'] === 'hostile-wide');
      assert.ok(wide.length > 0 && wide.length % CAP === 0, `a 5,000-radio frame cut to ${CAP} points per frame (got ${wide.length})`);
    });
  });
}
