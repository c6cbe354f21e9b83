// `npm run bench`: one JSON line. A Mist simulator (in this process) streams N device-stats frames as
// fast as the socket takes them; ws2otel (a child process, as users run it) forwards them over
// OTLP/HTTP to the real OpenTelemetry Collector, whose file exporter this process tails.
//   events_per_s  frames whose points all reached the Collector, per second of the run
//   limit_per_s   the same stream received and parsed (frame + inner data) by a bare `ws` client process
//   p50/p99_ms    per frame at a steady 1,000 frames/s: Collector file line seen − frame sent (includes
//                 the batch timeout, the Collector's 10 ms file flush and up to 5 ms of tail polling)
//   rss_mb        ws2otel's peak resident set (VmHWM)
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector } from './helpers/collector.js';
import { DaemonProcess } from './helpers/daemon.js';
import { waitFor } from './helpers/net.js';
import { MistSimulator, deviceStats } from '../src/sources/mist/simulator.js';
import { MistMapping } from '../src/sources/mist/mapping.js';
import { encodeMetrics } from '../src/encoding/otlp.js';
import { gzipSync } from 'node:zlib';

// BENCH_FRAMES, BENCH_BATCH (the daemon's batch.max_events) and BENCH_OUTAGE_S vary the load.
const FRAMES = Number(process.env.BENCH_FRAMES ?? 20_000);
const POINTS_PER_FRAME = 35;
const SITE = '/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The ceiling: a bare ws client in its own process that parses every frame and its data string. */
async function limit(): Promise<number> {
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs: 0, count: FRAMES });
  await sim.start();
  const client = `
    const WebSocket = require(${JSON.stringify(new URL('../../node_modules/ws/index.js', import.meta.url).pathname)});
    const ws = new WebSocket(${JSON.stringify(sim.url)}, { headers: { Authorization: 'Token t' }, perMessageDeflate: false });
    let n = 0, t0 = 0;
    ws.on('open', () => ws.send(JSON.stringify({ subscribe: ${JSON.stringify(SITE)} })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.event !== 'data') return;
      if (n === 0) t0 = performance.now();
      JSON.parse(m.data);
      if (++n === ${FRAMES}) { process.stdout.write(String((n - 1) / ((performance.now() - t0) / 1000))); process.exit(0); }
    });`;
  const child = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  await sim.stop();
  return Number(out);
}

/** ws2otel between the simulator and the Collector; intervalMs 0 saturates, otherwise paced. */
async function endToEnd(frames: number, intervalMs: number) {
  const FRAMES = frames;
  const measureLatency = intervalMs > 0;
  const collector = new Collector();
  await collector.start();
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs, count: FRAMES, record: 'times' });
  await sim.start();
  const daemon = new DaemonProcess({
    log_level: 'warn',
    sources: [{ name: 'bench', type: 'mist', url: sim.url, token: 't', channels: [SITE] }],
    sinks: [{ name: 'collector', type: 'otlp_http', endpoint: collector.endpoint, batch: { max_events: Number(process.env.BENCH_BATCH ?? 1000), timeout: '200ms' } }],
  });
  await daemon.start();

  // Tail the Collector's file output; every mist.device.uptime point marks its frame as arrived.
  const latencies: number[] = [];
  let points = 0;
  let lastArrival = 0;
  let offset = 0;
  let partial = '';
  const buf = Buffer.alloc(8 * 1024 * 1024);
  const poll = () => {
    let fd: number;
    try {
      fd = openSync(collector.metricsFile, 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        partial += buf.toString('utf8', 0, n);
      }
    } finally {
      closeSync(fd);
    }
    const now = Date.now();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      lastArrival = now;
      if (!measureLatency) {
        // Saturated run: count data points without parsing, so the bench takes little CPU from the
        // daemon and the Collector it measures (each point has exactly one "timeUnixNano" key).
        for (let i = line.indexOf('"timeUnixNano"'); i >= 0; i = line.indexOf('"timeUnixNano"', i + 14)) points++;
        continue;
      }
      const req = JSON.parse(line);
      for (const rm of req.resourceMetrics) {
        const mac = rm.resource.attributes.find((a: { key: string }) => a.key === 'device.id')?.value.stringValue;
        for (const sm of rm.scopeMetrics) {
          for (const m of sm.metrics) {
            const dps = (m.gauge ?? m.sum).dataPoints;
            points += dps.length;
            if (m.name !== 'mist.device.uptime') continue;
            for (const dp of dps) {
              const sent = sim.sentAt.get(`${mac}/${dp.asInt}`);
              if (sent !== undefined) latencies.push(now - sent);
            }
          }
        }
      }
    }
  };
  const timer = setInterval(poll, 5);
  await waitFor('every point at the Collector', () => points >= FRAMES * POINTS_PER_FRAME, 600_000, 100);
  clearInterval(timer);
  const firstSent = Math.min(...sim.sentAt.values());
  const status = readFileSync(`/proc/${daemon.proc!.pid}/status`, 'utf8');
  const rssKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  await daemon.stop();
  await sim.stop();
  await collector.stop();
  latencies.sort((a, b) => a - b);
  return {
    events_per_s: FRAMES / ((lastArrival - firstSent) / 1000),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    rss_mb: rssKb / 1024,
    frames: FRAMES,
    points,
  };
}

/**
 * The Collector alone at the same load: the same frames, mapped and encoded beforehand, posted in the
 * daemon's batch size with one request in flight; frames/s until its file holds every point.
 */
async function collectorAlone(): Promise<number> {
  const collector = new Collector();
  await collector.start();
  const mapping = new MistMapping('bench', [], {}, '0');
  const bodies: Buffer[] = [];
  for (let start = 0; start < FRAMES; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(FRAMES, start + 1000); i++) {
      batch.push(mapping.stats(SITE, deviceStats(i % 50, i, 'c1947558-268d-4d31-9a4e-0123456789ab', Date.now()), Date.now()));
    }
    bodies.push(gzipSync(encodeMetrics(batch, 'proto')!));
  }
  const t0 = Date.now();
  for (const body of bodies) {
    const res = await fetch(`${collector.endpoint}/v1/metrics`, {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
    });
    await res.arrayBuffer();
  }
  let lines = 0;
  await waitFor('the Collector to write every batch', () => {
    try {
      lines = readFileSync(collector.metricsFile, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return false;
    }
    return lines >= bodies.length;
  }, 600_000, 5);
  const rate = FRAMES / ((Date.now() - t0) / 1000);
  await collector.stop();
  return rate;
}

/**
 * A sink outage at a steady 1,000 frames/s: the Collector runs 3 s, is down OUTAGE_S, comes back;
 * the stream stops 3 s later. Every frame the simulator sent must arrive (lost = 0).
 */
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 10);
async function outage(type: 'memory' | 'disk') {
  const collector = new Collector();
  await collector.start();
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs: 50, record: 'times' });
  await sim.start();
  const daemon = new DaemonProcess({
    log_level: 'warn',
    data_dir: mkdtempSync(join(tmpdir(), 'ws2otel-bench-')),
    sources: [{ name: 'bench', type: 'mist', url: sim.url, token: 't', channels: [SITE] }],
    sinks: [{
      name: 'collector', type: 'otlp_http', endpoint: collector.endpoint, timeout: '2s',
      batch: { max_events: 1000, timeout: '200ms' }, retry: { initial_interval: '200ms', max_interval: '2s' },
      buffer: { type, max_events: 100_000, max_bytes: 1024 * 1024 * 1024 },
    }],
  });
  await daemon.start();
  let bufferPeak = 0;
  let rssPeak = 0;
  const sample = async () => {
    bufferPeak = Math.max(bufferPeak, await daemon.metric('ws2otel_sink_buffer_bytes'));
    const status = readFileSync(`/proc/${daemon.proc!.pid}/status`, 'utf8');
    rssPeak = Math.max(rssPeak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
  };
  const sampler = setInterval(() => void sample().catch(() => undefined), 100);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(3000);
  await collector.stop();
  await sleep(OUTAGE_S * 1000);
  const backlog = await daemon.metric('ws2otel_sink_buffer_events');
  const sentBefore = await daemon.metric('ws2otel_sink_events_sent_total');
  await collector.start();
  const back = Date.now();
  let drainMs = 0;
  await waitFor('the backlog to drain', async () => {
    const sent = await daemon.metric('ws2otel_sink_events_sent_total');
    if (sent - sentBefore >= backlog) drainMs = Date.now() - back;
    return drainMs > 0;
  }, 300_000, 20);
  await sleep(3000);
  await sim.stop();
  await waitFor('every accepted frame sent', async () =>
    (await daemon.metric('ws2otel_sink_events_sent_total')) >= (await daemon.metric('ws2otel_source_events_mapped_total')), 300_000, 100);
  await sleep(500); // the Collector's file flush
  clearInterval(sampler);
  const keys = collector.points().filter((p) => p.name === 'mist.device.uptime').map((p) => `${String(p.resource['device.id'])}/${p.value}`);
  const distinct = new Set(keys);
  const sent = [...sim.sentAt.keys()];
  await daemon.stop();
  await collector.stop();
  return {
    sink_down_s: OUTAGE_S,
    events_sent: sent.length,
    events_delivered: sent.filter((k) => distinct.has(k)).length,
    lost: sent.filter((k) => !distinct.has(k)).length,
    duplicates: keys.length - distinct.size,
    buffer_peak_mb: round(bufferPeak / 1048576),
    rss_peak_mb: round(rssPeak / 1048576),
    drain_events_per_s: round(backlog / (drainMs / 1000)),
  };
}

const limitPerS = await limit();
const collectorPerS = await collectorAlone();
const e2e = await endToEnd(FRAMES, 0);
// Latency is only meaningful below saturation: 50 devices every 50 ms = 1,000 frames/s for 5 s.
const paced = await endToEnd(5000, 50);
const outageMemory = await outage('memory');
// The Kafka clients' figures (test/bench_kafka.ts), in their own processes against a real broker.
const kafka = await new Promise<unknown>((resolve) => {
  const child = spawn(process.execPath, [new URL('./bench_kafka.js', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.once('exit', () => {
    try {
      resolve((JSON.parse(out.trim().split('\n').pop()!) as { kafka: unknown }).kafka);
    } catch {
      resolve({ error: 'bench_kafka printed no result' });
    }
  });
});
const outageDisk = await outage('disk');
process.stdout.write(`${JSON.stringify({
  events_per_s: round(e2e.events_per_s),
  limit_per_s: round(limitPerS),
  ratio: round(e2e.events_per_s / limitPerS, 3),
  collector_alone_per_s: round(collectorPerS),
  p50_ms: paced.p50_ms,
  p99_ms: paced.p99_ms,
  latency_at_per_s: 1000,
  rss_mb: round(Math.max(e2e.rss_mb, paced.rss_mb)),
  frames: e2e.frames,
  points_per_frame: POINTS_PER_FRAME,
  batch_timeout_ms: 200,
  outage: { memory: outageMemory, disk: outageDisk },
  kafka,
})}\n`);
