import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector } from '../helpers/collector.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { freePort, waitFor } from '../helpers/net.js';
import { onSmallTmpfs } from '../helpers/tmpfs.js';
import { MistSimulator, type MistSimulatorOptions } from '../../src/simulators/mist.js';

// Fault tests: the real Collector goes down, restarts, ws2otel is killed or stopped, the disk fills.
// Each asserts that every frame ws2otel accepted reached the Collector, and bounds the duplicates that
// at-least-once delivery may add in that scenario: a batch is only sent again when its first send may have
// reached the Collector without ws2otel learning so (one batch is in flight at a time).

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const CHANNEL = `/sites/${SITE}/stats/devices`;

function daemonConfig(sim: MistSimulator, endpoint: string, over: Record<string, unknown> = {}, buffer: Record<string, unknown> = {}) {
  return {
    log_level: 'info',
    shutdown_grace: '2s',
    sources: [{ name: 'mist', type: 'mist', url: sim.url, token: 'tok-fault', channels: [CHANNEL], reconnect: { initial_interval: '100ms', max_interval: '1s' } }],
    sinks: [{
      name: 'collector', type: 'otlp_http', endpoint, timeout: '2s',
      batch: { max_events: 200, timeout: '100ms' },
      retry: { initial_interval: '100ms', max_interval: '1s' },
      buffer: { type: 'memory', max_events: 2000, ...buffer },
    }],
    ...over,
  };
}

/** Frames the Collector holds, by `<mac>/<uptime>` (one uptime point per frame). */
function arrived(collector: Collector): { distinct: Set<string>; total: number } {
  const keys = collector.points().filter((p) => p.name === 'mist.device.uptime').map((p) => `${String(p.resource['device.id'])}/${p.value}`);
  return { distinct: new Set(keys), total: keys.length };
}

function sentKeys(sim: MistSimulator): string[] {
  return sim.sent.map((s) => `${s.payload.mac as string}/${s.payload.uptime as number}`);
}

async function assertAllArrived(sim: MistSimulator, collector: Collector, expected?: string[], timeoutMs = 90_000) {
  const want = expected ?? sentKeys(sim);
  await waitFor(`all ${want.length} frames at the Collector`, () => {
    const { distinct } = arrived(collector);
    return want.every((k) => distinct.has(k));
  }, timeoutMs, 250);
  const { distinct, total } = arrived(collector);
  const lost = want.filter((k) => !distinct.has(k));
  assert.equal(lost.length, 0, `lost ${lost.length} frames`);
  return { duplicates: total - distinct.size };
}

/** The Collector comes up at `port`, ws2otel starts again on the same config: everything must arrive. */
async function restartWithCollector(cfg: Record<string, unknown>, port: number, s: MistSimulator): Promise<{ d: DaemonProcess; duplicates: number }> {
  const collector = new Collector();
  collector.port = port;
  await collector.start();
  const d = new DaemonProcess(cfg);
  await d.start();
  try {
    const { duplicates } = await assertAllArrived(s, collector);
    return { d, duplicates };
  } finally {
    await d.stop();
    await s.stop();
    await collector.stop();
  }
}

function sim(opts: Partial<MistSimulatorOptions> = {}) {
  return new MistSimulator({ token: 'tok-fault', devices: 10, intervalMs: 100, record: 'payloads', ...opts });
}

describe('fault tolerance against the real Collector', () => {
  it('loses nothing while the Collector is down for 60 s, then delivers the backlog exactly once', async (t) => {
    const collector = new Collector();
    await collector.start();
    const s = sim();
    await s.start();
    const d = new DaemonProcess(daemonConfig(s, collector.endpoint));
    await d.start();
    try {
      await waitFor('first frames delivered', () => arrived(collector).total > 20);
      await collector.stop();
      await new Promise((r) => setTimeout(r, 60_000));
      await collector.start();
      await new Promise((r) => setTimeout(r, 2_000));
      await s.stop(); // stop streaming; everything it sent until now must arrive
      const { duplicates } = await assertAllArrived(s, collector);
      assert.ok((await d.metric('ws2otel_sink_retries_total')) > 0, 'the outage was retried');
      assert.equal(await d.metric('ws2otel_sink_events_dropped_total'), 0);
      // The Collector stops gracefully (in-flight requests are answered first) and ws2otel keeps running,
      // so every batch was acknowledged exactly once.
      t.diagnostic(`duplicates: ${duplicates}`);
      assert.equal(duplicates, 0);
    } finally {
      await d.stop();
      await s.stop();
      await collector.stop();
    }
  });

  it('loses nothing when the Collector restarts mid-stream, and duplicates nothing', async (t) => {
    const collector = new Collector();
    await collector.start();
    const s = sim({ intervalMs: 20 });
    await s.start();
    const d = new DaemonProcess(daemonConfig(s, collector.endpoint));
    await d.start();
    try {
      await waitFor('first frames', () => arrived(collector).total > 50);
      await collector.stop();
      await collector.start();
      await waitFor('frames after the restart', () => arrived(collector).total > s.sent.length / 2 + 50, 30_000);
      await s.stop();
      const { duplicates } = await assertAllArrived(s, collector);
      t.diagnostic(`duplicates: ${duplicates}`);
      assert.equal(duplicates, 0, 'a graceful Collector restart answers what it accepted');
    } finally {
      await d.stop();
      await s.stop();
      await collector.stop();
    }
  });

  it('after SIGKILL, a restart delivers everything the disk buffer had accepted, each frame once', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ws2otel-kill-'));
    const port = await freePort(); // the Collector is not there yet: everything waits in the buffer
    const s = sim({ intervalMs: 0, count: 600 });
    await s.start();
    const cfg = daemonConfig(s, `http://127.0.0.1:${port}`, { data_dir: dataDir }, { type: 'disk', fsync: '1s' });
    const d1 = new DaemonProcess(cfg);
    await d1.start();
    await s.done;
    await waitFor('all 600 frames accepted', async () => (await d1.metric('ws2otel_source_events_mapped_total')) >= 600);
    assert.equal(await d1.stop('SIGKILL'), 137);
    const { d: d2, duplicates } = await restartWithCollector(cfg, port, s);
    assert.match(d2.stdout, /replaying unacknowledged events/);
    // No batch could reach the Collector before the kill (it was not running), so none was in flight.
    t.diagnostic(`duplicates: ${duplicates}`);
    assert.equal(duplicates, 0);
  });

  it('SIGKILL while delivering: a restart re-sends at most the one batch that was in flight', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ws2otel-kill-live-'));
    const collector = new Collector();
    await collector.start();
    const s = sim({ intervalMs: 0, count: 3000 });
    await s.start();
    const cfg = daemonConfig(s, collector.endpoint, { data_dir: dataDir }, { type: 'disk', fsync: '1s', max_events: 10_000 });
    const d1 = new DaemonProcess(cfg);
    await d1.start();
    let d2: DaemonProcess | undefined;
    try {
      await s.done;
      await waitFor('all 3000 frames accepted', async () => (await d1.metric('ws2otel_source_events_mapped_total')) >= 3000);
      await waitFor('delivery under way', () => arrived(collector).total > 0, 30_000, 5);
      assert.equal(await d1.stop('SIGKILL'), 137);
      const before = arrived(collector).total;
      d2 = new DaemonProcess(cfg);
      await d2.start();
      const { duplicates } = await assertAllArrived(s, collector);
      // The ack position is written after every acknowledged batch, and one batch is in flight at a
      // time: only that batch (at most batch.max_events frames) can have reached the Collector unacked.
      t.diagnostic(`delivered before the kill: ${before}, duplicates after the restart: ${duplicates}`);
      assert.ok(duplicates <= 200, `${duplicates} duplicates, more than one batch of 200`);
    } finally {
      await d2?.stop();
      await s.stop();
      await collector.stop();
    }
  });

  it('SIGTERM stops reading, exits 0 within the grace period, and keeps what it could not send on disk', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ws2otel-term-'));
    const port = await freePort();
    const s = sim({ intervalMs: 0, count: 300 });
    await s.start();
    const cfg = daemonConfig(s, `http://127.0.0.1:${port}`, { data_dir: dataDir, shutdown_grace: '1s' }, { type: 'disk' });
    const d1 = new DaemonProcess(cfg);
    await d1.start();
    await s.done;
    await waitFor('all 300 frames accepted', async () => (await d1.metric('ws2otel_source_events_mapped_total')) >= 300);
    assert.equal(await d1.stop('SIGTERM', 15_000), 0);
    assert.match(d1.stdout, /events stay in the disk buffer/);
    const { duplicates } = await restartWithCollector(cfg, port, s);
    t.diagnostic(`duplicates: ${duplicates}`);
    assert.equal(duplicates, 0, 'nothing was delivered before the restart');
  });

  it('a full disk is a clear error and, with when_full: block, pauses the source without losing anything', (t) => onSmallTmpfs(t, async (mnt) => {
    const port = await freePort();
    const s = sim({ intervalMs: 0, count: 1500 });
    await s.start();
    const d = new DaemonProcess(daemonConfig(s, `http://127.0.0.1:${port}`, { data_dir: mnt }, { type: 'disk', max_events: 100_000, when_full: 'block' }));
    await d.start();
    const collector = new Collector();
    collector.port = port;
    try {
      await waitFor('the disk-full error', () => /buffer refused an event/.test(d.stdout) && /ENOSPC/.test(d.stdout), 30_000);
      const received = await d.metric('ws2otel_source_frames_received_total');
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok((await d.metric('ws2otel_source_frames_received_total')) - received < 50, 'the source stopped reading');
      assert.equal((await fetch(`http://127.0.0.1:${d.httpPort}/healthz`)).status, 200, 'still alive');
      const ready = await fetch(`http://127.0.0.1:${d.httpPort}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /sink\/collector/);
      await collector.start();
      await s.done;
      const { duplicates } = await assertAllArrived(s, collector);
      assert.equal(await d.metric('ws2otel_sink_events_dropped_total'), 0);
      t.diagnostic(`duplicates: ${duplicates}`);
      assert.equal(duplicates, 0, 'one daemon, no restart: each batch acknowledged once');
    } finally {
      await d.stop();
      await s.stop();
      await collector.stop();
    }
  }));

  it('holds memory near the configured cap while the sink is down and the vendor pushes at full rate', async () => {
    const port = await freePort();
    const s = new MistSimulator({ token: 'tok-fault', devices: 50, intervalMs: 0 });
    await s.start();
    const capBytes = 16 * 1024 * 1024;
    const d = new DaemonProcess(daemonConfig(s, `http://127.0.0.1:${port}`, {}, { max_events: 1_000_000, max_bytes: capBytes, when_full: 'block' }));
    await d.start();
    try {
      await waitFor('the buffer to fill', async () => (await d.metric('ws2otel_sink_buffer_bytes')) >= capBytes, 30_000);
      let peakRss = 0;
      let peakHeap = 0;
      const received = await d.metric('ws2otel_source_frames_received_total');
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 300));
        const status = readFileSync(`/proc/${d.proc!.pid}/status`, 'utf8');
        peakRss = Math.max(peakRss, Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024);
        peakHeap = Math.max(peakHeap, await d.metric('ws2otel_nodejs_heap_size_used_bytes'));
      }
      const after = await d.metric('ws2otel_source_frames_received_total');
      assert.ok(after - received < 100, `source kept reading while blocked: ${after - received} frames`);
      // Fixed margins: the runtime, the modules and the socket buffers, independent of the stream's length.
      assert.ok(peakHeap < capBytes * 3 + 64 * 1024 * 1024, `heap ${Math.round(peakHeap / 1048576)} MiB`);
      assert.ok(peakRss < capBytes * 3 + 160 * 1024 * 1024, `rss ${Math.round(peakRss / 1048576)} MiB`);
      assert.ok(s.statsFramesSent > after, 'the simulator was held back by TCP, not dropped');
    } finally {
      await d.stop('SIGKILL');
      await s.stop();
    }
  });
});
