// `npm run bench`: one JSON line. A Mist simulator (in this process) streams device-stats frames as fast
// as the socket takes them; ws2otel (a child process, as users run it) forwards them over OTLP/HTTP to
// the real OpenTelemetry Collector. Every figure comes from the same run (README, Bench, lists them all):
//   throughput  the Collector exports to `debug` (verbosity basic) and the bench counts the points it
//               logs, so the Collector's file exporter is not the limit (test/helpers/bench_collector.ts)
//   latency     the Collector's file exporter, tailed: Collector file line seen − frame sent (includes
//               the batch timeout, the Collector's 10 ms file flush and up to 5 ms of tail polling)
//   CPU         each process's own utime+stime (/proc/<pid>/stat; process.cpuUsage() in the bare client)
//               over the frames it handled, per frame
//   RSS         peak resident set (VmHWM) of the process
//   peer        Benthos core doing the same Mist → OTLP job, when WS2OTEL_BENCH_PEER_BENTHOS names the
//               peer's folder and Go is installed
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Collector } from './helpers/collector.js';
import { CountingCollector } from './helpers/bench_collector.js';
import { DaemonProcess } from './helpers/daemon.js';
import { freePort, waitFor } from './helpers/net.js';
import { MistSimulator, deviceStats } from '../src/simulators/mist.js';
import { MistMapping } from '../src/sources/mist/mapping.js';
import { otlpBodies, otlpCodec } from '../src/encoding/otlp.js';

// BENCH_FRAMES, BENCH_BATCH (the daemon's batch.max_events) and BENCH_OUTAGE_S vary the load.
const FRAMES = Number(process.env.BENCH_FRAMES ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const BATCH_TIMEOUT_MS = 200;
const POINTS_PER_FRAME = 35;
const SITE_ID = 'c1947558-268d-4d31-9a4e-0123456789ab';
const SITE = `/sites/${SITE_ID}/stats/devices`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// BENCH_VERBOSE=1 notes each stage on stderr (stdout carries only the JSON line).
const note = (what: string) => process.env.BENCH_VERBOSE && process.stderr.write(`${new Date().toISOString()} bench: ${what}\n`);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A process's own CPU time (user + system) in µs, from /proc/<pid>/stat (fields 14 and 15, in clock ticks).
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}
/** Peak resident set (VmHWM) of a process, MB. */
function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/**
 * The ceiling of receiving: a bare ws client in its own process that parses every frame and its data
 * string. Its rate (first frame → last) and its own CPU time (process.cpuUsage(), from the socket's open
 * to the last frame) per frame.
 */
async function limit(): Promise<{ per_s: number; cpu_us_per_frame: number }> {
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs: 0, count: FRAMES });
  await sim.start();
  const client = `
    const WebSocket = require(${JSON.stringify(new URL('../../node_modules/ws/index.js', import.meta.url).pathname)});
    const ws = new WebSocket(${JSON.stringify(sim.url)}, { headers: { Authorization: 'Token t' }, perMessageDeflate: false });
    let n = 0, t0 = 0, cpu0;
    ws.on('open', () => { cpu0 = process.cpuUsage(); ws.send(JSON.stringify({ subscribe: ${JSON.stringify(SITE)} })); });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.event !== 'data') return;
      if (n === 0) t0 = performance.now();
      JSON.parse(m.data);
      if (++n === ${FRAMES}) {
        const cpu = process.cpuUsage(cpu0);
        process.stdout.write(JSON.stringify({ per_s: (n - 1) / ((performance.now() - t0) / 1000), cpu_us_per_frame: (cpu.user + cpu.system) / n }));
        process.exit(0);
      }
    });`;
  const child = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  await sim.stop();
  return JSON.parse(out);
}

/** The daemon under measurement: one Mist source into one OTLP/HTTP sink with the bench's batch settings. */
function benchDaemon(simUrl: string, endpoint: string): DaemonProcess {
  return new DaemonProcess({
    log_level: 'warn',
    sources: [{ name: 'bench', type: 'mist', url: simUrl, token: 't', channels: [SITE] }],
    sinks: [{ name: 'collector', type: 'otlp_http', endpoint, batch: { max_events: BATCH, timeout: `${BATCH_TIMEOUT_MS}ms` } }],
  });
}

/**
 * A Mist simulator sending `frames` (every `intervalMs` per 50 devices; 0: as fast as the socket takes
 * them) and the bench daemon reading it into `endpoint`. `end()` stops both and gives the daemon's CPU
 * per frame, from its readiness on, over the frames it mapped in that span, and its peak RSS.
 */
async function daemonRun(endpoint: string, intervalMs: number, frames: number) {
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs, count: frames, record: 'times' });
  await sim.start();
  const daemon = benchDaemon(sim.url, endpoint);
  await daemon.start();
  const pid = daemon.proc!.pid!;
  const cpu0 = cpuUs(pid);
  const mapped0 = await daemon.metric('ws2otel_source_events_mapped_total');
  return {
    sim,
    async end() {
      const cpu = cpuUs(pid) - cpu0;
      const rss = peakRssMb(pid);
      await daemon.stop();
      await sim.stop();
      return { cpu_us_per_frame: cpu / (frames - mapped0), rss_mb: rss };
    },
  };
}

/**
 * ws2otel between the simulator and the Collector, saturated: the simulator sends FRAMES as fast as the
 * socket takes them, the counting Collector (debug exporter) reports the points. CPU per frame is the
 * daemon's CPU from the moment it is ready to the last point's arrival, over the frames it mapped in
 * that span.
 */
async function saturated() {
  const collector = new CountingCollector();
  await collector.start();
  const run = await daemonRun(collector.endpoint, 0, FRAMES);
  // The other two processes' share of the same frames: the Collector's, and this process's (the
  // simulator runs in it), from the daemon's readiness to the last point.
  const collectorCpu0 = cpuUs(collector.pid!);
  const ownCpu0 = process.cpuUsage();
  // The count includes the source's up gauge (a point or two a run): the points arrive 35,000 a batch,
  // so those cannot make the count reach its mark a batch early.
  await waitFor('every point at the Collector', () => collector.points >= FRAMES * POINTS_PER_FRAME, 600_000, 20);
  const collectorCpu = cpuUs(collector.pid!) - collectorCpu0;
  const ownCpu = process.cpuUsage(ownCpu0);
  const firstSent = Math.min(...run.sim.sentAt.values());
  const { cpu_us_per_frame, rss_mb } = await run.end();
  await collector.stop();
  return {
    events_per_s: FRAMES / ((collector.lastArrival - firstSent) / 1000), cpu_us_per_frame, rss_mb,
    collector_cpu_us_per_frame: collectorCpu / FRAMES, simulator_cpu_us_per_frame: (ownCpu.user + ownCpu.system) / FRAMES,
  };
}

/**
 * ws2otel at a steady 1,000 frames/s (50 devices every 50 ms) for `frames`, into the Collector's file
 * exporter, which this process tails: every mist.device.uptime point marks its frame as arrived.
 */
async function paced(frames: number) {
  const collector = new Collector();
  await collector.start();
  const run = await daemonRun(collector.endpoint, 50, frames);
  const sim = run.sim;
  const latencies: number[] = [];
  let points = 0;
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
      const req = JSON.parse(line);
      for (const rm of req.resourceMetrics) {
        const mac = rm.resource.attributes.find((a: { key: string }) => a.key === 'device.id')?.value.stringValue;
        for (const sm of rm.scopeMetrics) {
          if (sm.scope?.name !== 'ws2otel/mist') continue; // the source's up gauge travels the same way
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
  await waitFor('every point at the Collector', () => points >= frames * POINTS_PER_FRAME, 600_000, 100);
  clearInterval(timer);
  const { cpu_us_per_frame, rss_mb } = await run.end();
  await collector.stop();
  latencies.sort((a, b) => a - b);
  return { p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), cpu_us_per_frame, rss_mb };
}

/**
 * The Collector alone at the same load, into the same counting Collector (debug exporter): the same
 * frames, mapped and encoded beforehand (protobuf, gzip), posted in the daemon's batch size with one
 * request in flight; frames/s until it has reported every point.
 */
async function collectorAlone(): Promise<{ per_s: number; cpu_us_per_frame: number }> {
  const collector = new CountingCollector();
  await collector.start();
  const mapping = new MistMapping('bench', [], {}, '0');
  const codec = otlpCodec('proto');
  const bodies: Buffer[] = [];
  for (let start = 0; start < FRAMES; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(FRAMES, start + BATCH); i++) {
      batch.push(mapping.stats(SITE, deviceStats(i % 50, i, SITE_ID, Date.now()), Date.now()));
    }
    // The body ws2otel sends: each envelope encoded once, the batch their concatenation.
    bodies.push(gzipSync(otlpBodies(batch.map((e) => ({ bytes: codec.encode(e), receivedMs: e.receivedMs })), 'proto').metrics!));
  }
  const t0 = Date.now();
  const cpu0 = cpuUs(collector.pid!);
  for (const body of bodies) {
    const res = await fetch(`${collector.endpoint}/v1/metrics`, {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
    });
    await res.arrayBuffer();
  }
  await waitFor('the Collector to report every point', () => collector.points >= FRAMES * POINTS_PER_FRAME, 60_000, 5);
  const rate = FRAMES / ((collector.lastArrival - t0) / 1000);
  const cpu = cpuUs(collector.pid!) - cpu0;
  await collector.stop();
  return { per_s: rate, cpu_us_per_frame: cpu / FRAMES };
}

/**
 * The peer: Benthos core doing the same Mist → OTLP job (its folder's README says how), built by the
 * folder's build.sh, on the same saturated stream into the same counting Collector, batches of BATCH
 * frames or BATCH_TIMEOUT_MS. Its CPU and RSS as for ws2otel: from its /ping answering to the last point.
 */
type PeerResult = { events_per_s: number; cpu_us_per_frame: number; rss_mb: number; points_per_frame: number; output_errors: number };
async function peerBenthos(): Promise<PeerResult | string> {
  const dir = process.env.WS2OTEL_BENCH_PEER_BENTHOS;
  if (!dir) return 'skipped: WS2OTEL_BENCH_PEER_BENTHOS is not set';
  if (!existsSync(join(dir, 'build.sh')) || !existsSync(join(dir, 'benthos.yaml'))) return 'skipped: WS2OTEL_BENCH_PEER_BENTHOS has no build.sh and benthos.yaml';
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return 'skipped: no Go toolchain (go) on PATH';
  }
  let bin: string;
  try {
    bin = execFileSync('bash', [join(dir, 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  } catch (e) {
    return `skipped: the peer's build.sh failed (${(e as Error).message.split('\n')[0]})`;
  }
  const collector = new CountingCollector();
  await collector.start();
  const sim = new MistSimulator({ token: 't', devices: 50, intervalMs: 0, count: FRAMES, record: 'times' });
  await sim.start();
  const http = `127.0.0.1:${await freePort()}`;
  const proc = spawn(bin, ['-c', join(dir, 'benthos.yaml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env, MIST_URL: sim.url, MIST_TOKEN: 't', MIST_SITE: SITE_ID, OTLP_METRICS_URL: `${collector.endpoint}/v1/metrics`,
      PEER_DIR: dir, PEER_HTTP: http, PEER_BATCH_COUNT: String(BATCH), PEER_BATCH_PERIOD: `${BATCH_TIMEOUT_MS}ms`, PEER_LOG_LEVEL: 'WARN',
    },
  });
  const reap = () => proc.exitCode === null && proc.kill('SIGKILL');
  process.once('exit', reap);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => stderr.length < 65536 && (stderr += d.toString()));
  // /stats keys carry labels (`output_sent{label="",path="root.output"}`): sum a counter's series.
  const stat = async (name: string): Promise<number> => {
    const all = (await (await fetch(`http://${http}/stats`)).json()) as Record<string, unknown>;
    return Object.entries(all).filter(([k, v]) => (k === name || k.startsWith(`${name}{`)) && typeof v === 'number').reduce((a, [, v]) => a + (v as number), 0);
  };
  try {
    await waitFor('the peer to start', async () => proc.exitCode !== null || (await fetch(`http://${http}/ping`).then((r) => r.ok, () => false)), 30_000, 20);
    if (proc.exitCode !== null) return `error: the peer exited ${proc.exitCode}: ${stderr.slice(0, 300)}`;
    const cpu0 = cpuUs(proc.pid!);
    const received0 = await stat('input_received');
    // Done when the peer has had every frame's batch accepted by the Collector (output_sent counts
    // frames); its mapping may make fewer points per frame than ws2otel's, so points are reported.
    await waitFor('every frame from the peer sent', async () => proc.exitCode !== null || (await stat('output_sent')) >= FRAMES, 600_000, 50);
    const done = Date.now();
    if (proc.exitCode !== null) return `error: the peer exited ${proc.exitCode}: ${stderr.slice(0, 300)}`;
    const cpu = cpuUs(proc.pid!) - cpu0;
    const rss = peakRssMb(proc.pid!);
    const firstSent = Math.min(...sim.sentAt.values());
    await sleep(500);
    return {
      events_per_s: round(FRAMES / ((done - firstSent) / 1000)),
      cpu_us_per_frame: round(cpu / (FRAMES - received0)),
      rss_mb: round(rss),
      points_per_frame: round(collector.points / FRAMES),
      output_errors: await stat('output_error'),
    };
  } catch (e) {
    return `error: ${(e as Error).message}`;
  } finally {
    const exited = new Promise((r) => (proc.exitCode !== null ? r(0) : proc.once('exit', r)));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    process.off('exit', reap);
    await sim.stop();
    await collector.stop();
  }
}

/**
 * A sink outage at a steady 1,000 frames/s: the Collector runs 3 s, is down OUTAGE_S, comes back;
 * the stream stops 3 s later. Every frame the simulator sent must arrive (lost = 0). The buffer's byte
 * cap (OUTAGE_BUFFER_MB) is reached during the outage, so the sources pause (when_full: block) and the
 * peak RSS shows what the cap holds. The stated bound (README, Bench): peak RSS ≤ the buffer's
 * max_bytes + the daemon's own footprint at full speed, its saturated peak RSS in the same run (the
 * backlog drains at full speed, so that is the footprint it runs at).
 */
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 10);
const OUTAGE_BUFFER_MB = 16;
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
      buffer: { type, max_events: 100_000, max_bytes: OUTAGE_BUFFER_MB * 1024 * 1024 },
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
    buffer_max_mb: OUTAGE_BUFFER_MB,
    buffer_peak_mb: round(bufferPeak / 1048576),
    rss_peak_mb: round(rssPeak / 1048576),
    drain_events_per_s: round(backlog / (drainMs / 1000)),
  };
}

note('limit()');
const client = await limit();
note('collectorAlone()');
const alone = await collectorAlone();
const collectorPerS = alone.per_s;
note('saturated()');
const sat = await saturated();
note('peerBenthos()');
const peer = await peerBenthos();
// Latency, CPU and RSS at a steady 1,000 frames/s: 50 devices every 50 ms for 5 s.
note('paced(5000)');
const steady = await paced(5000);
note("outage('memory')");
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
note("outage('disk')");
const outageDisk = await outage('disk');

// What the machine's cores allow for the saturated run at the CPU per frame its three processes
// (simulator, daemon, Collector) spent: the Collector-alone rate is measured with the other two idle.
const CORES = availableParallelism();
const ceilingPerS = (CORES * 1e6) / (sat.simulator_cpu_us_per_frame + sat.cpu_us_per_frame + sat.collector_cpu_us_per_frame);

// Issue 11's goals, each true (met), false (not met) or null (not measurable in this run).
const p = typeof peer === 'object' ? peer : undefined;
const goals = {
  cpu_us_per_frame: sat.cpu_us_per_frame <= 40 && sat.cpu_us_per_frame <= 3 * client.cpu_us_per_frame,
  rss_mb_saturation: sat.rss_mb <= 100,
  rss_mb_1000fps: steady.rss_mb <= 80,
  events_per_s: sat.events_per_s >= 0.9 * collectorPerS,
  p99_ms: steady.p99_ms <= BATCH_TIMEOUT_MS + 25,
  peer: p ? sat.events_per_s >= 3 * p.events_per_s && sat.rss_mb <= p.rss_mb : null,
  // Item 6: under an outage, RSS stays within the buffer's cap plus the footprint at full speed.
  outage_rss: [outageMemory, outageDisk].every((o) => o.rss_peak_mb <= o.buffer_max_mb + sat.rss_mb),
};
process.stdout.write(`${JSON.stringify({
  events_per_s: round(sat.events_per_s),
  collector_alone_per_s: round(collectorPerS),
  limit_per_s: round(client.per_s),
  cpu_us_per_frame: round(sat.cpu_us_per_frame),
  cpu_us_per_frame_1000fps: round(steady.cpu_us_per_frame),
  client_cpu_us_per_frame: round(client.cpu_us_per_frame),
  rss_mb_saturation: round(sat.rss_mb),
  rss_mb_1000fps: round(steady.rss_mb),
  p50_ms: steady.p50_ms,
  p99_ms: steady.p99_ms,
  latency_at_per_s: 1000,
  throughput_exporter: 'debug/basic',
  frames: FRAMES,
  points_per_frame: POINTS_PER_FRAME,
  batch: BATCH,
  batch_timeout_ms: BATCH_TIMEOUT_MS,
  peer: { benthos: peer },
  cpu_budget: {
    cores: CORES,
    simulator_us_per_frame: round(sat.simulator_cpu_us_per_frame),
    collector_us_per_frame: round(sat.collector_cpu_us_per_frame),
    collector_alone_us_per_frame: round(alone.cpu_us_per_frame),
    ceiling_per_s: round(ceilingPerS),
  },
  goals,
  outage: { memory: outageMemory, disk: outageDisk },
  kafka,
})}\n`);
