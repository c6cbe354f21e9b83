
// `node dist/test/bench_kafka.js`: ONE JSON line comparing the Kafka client libraries behind the same
// KafkaSink, against one real Kafka 4.3.1 broker (started here), with the same load for each:
//   BENCH_KAFKA_FRAMES Mist device-stats frames (35 points each), mapped beforehand, sent as the
//   pipeline sends them: batches of BENCH_KAFKA_BATCH frames, one batch in flight, default sink
//   settings (otlp_proto, acks all, idempotent, key device.id, no compression).
//   events_per_s  frames acknowledged by the broker per second (first send → last ack)
//   p99_ms        99th percentile of one batch's send → broker acknowledgement
//   rss_mb        peak resident set (VmHWM) of the process that ran that client
//   zstd_events_per_s, zstd_p99_ms  the same load with `compression: zstd` (a child process of its own)
// and one broker-down run per client (`outage`): BENCH_KAFKA_OUTAGE_FRAMES frames (json encoding, so
// each point is read back alone) paced at one batch per 100 ms, each batch retried with the pipeline's
// own backoff (200 ms .. 1 s); after a third are acknowledged the broker is stopped (SIGTERM), left
// down BENCH_KAFKA_DOWN_MS, and started again. Then every frame is read back from the topic:
//   lost        frames acknowledged to the sender but not in the topic
//   duplicated  copies beyond the first
//   gap_s       last acknowledgement before the broker was down (kafka-stop.sh returned) → first one after
//   after_up_s  broker serving again (kafka-start.sh returned) → first acknowledgement
//   longest_send_s  the longest single send() call: how long one attempt can hang with the broker gone
//   retries     failed attempts the backoff loop retried
// Each client runs in its own child process so neither's memory or JIT state colours the other's.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KafkaBroker, TopicReader, createTopics } from './helpers/kafka.js';
import { requestOf, sendEnvelopes, silentLog } from './helpers/capture.js';
import { MistMapping } from '../src/sources/mist/mapping.js';
import { deviceStats } from '../src/simulators/mist.js';
import { validateComponent } from '../src/config/component.js';
import { createClient, kafkaSink, KafkaSink } from '../src/sinks/kafka/sink.js';
import { retryWithBackoff } from '../src/pipeline/backoff.js';
import { PermanentError } from '../src/sinks/sink.js';
import type { Envelope } from '../src/model.js';

const FRAMES = Number(process.env.BENCH_KAFKA_FRAMES ?? 20_000);
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 100);
const OUTAGE_FRAMES = Number(process.env.BENCH_KAFKA_OUTAGE_FRAMES ?? 3000);
const DOWN_MS = Number(process.env.BENCH_KAFKA_DOWN_MS ?? 5000);
const SITE_ID = 'c1947558-268d-4d31-9a4e-0123456789ab';
const CHANNEL = `/sites/${SITE_ID}/stats/devices`;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

type Client = 'kafkajs' | 'platformatic';
type Mode = 'plain' | 'zstd' | 'outage';
const topicsFor = (client: Client, mode: Mode) => ({ metrics: `bench.${client}.${mode}.metrics`, logs: `bench.${client}.${mode}.logs` });
const mapping = new MistMapping('bench', [], {}, '0');
const never = new AbortController().signal;

function makeBatches(frames: number, now: number): Envelope[][] {
  const batches: Envelope[][] = [];
  for (let start = 0; start < frames; start += BATCH) {
    const b: Envelope[] = [];
    for (let i = start; i < Math.min(frames, start + BATCH); i++) b.push(mapping.stats(CHANNEL, deviceStats(i % 50, i, SITE_ID, now + i), now + i));
    batches.push(b);
  }
  return batches;
}

function makeSink(client: Client, mode: Mode, bootstrap: string): KafkaSink {
  const extra = mode === 'zstd' ? { compression: 'zstd' } : mode === 'outage' ? { encoding: 'json', timeout: '3s' } : {};
  const { config, problems } = validateComponent(kafkaSink, { name: client, type: 'kafka', brokers: [bootstrap], client, topics: topicsFor(client, mode), ...extra }, 'sinks[0]');
  if (!config) throw new Error(problems.join('; '));
  return new KafkaSink(config, createClient(config, { log: silentLog }), { log: silentLog });
}

async function runClient(client: Client, mode: Mode, bootstrap: string): Promise<void> {
  const now = Date.now();
  const batches = makeBatches(FRAMES, now);
  const sink = makeSink(client, mode, bootstrap);
  await sendEnvelopes(sink, [mapping.stats(CHANNEL, deviceStats(0, 0, SITE_ID, now), now)], never); // connect, producer id
  const lat: number[] = [];
  const t0 = performance.now();
  for (const b of batches) {
    const s = performance.now();
    await sendEnvelopes(sink, b, never);
    lat.push(performance.now() - s);
  }
  const secs = (performance.now() - t0) / 1000;
  await sink.close();
  lat.sort((a, b) => a - b);
  const rssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  process.stdout.write(JSON.stringify({
    events_per_s: round(FRAMES / secs), p99_ms: round(lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]!), rss_mb: round(rssKb / 1024),
  }));
}

/** The outage run's sender (a child with an IPC channel): reports each acknowledgement to the parent. */
async function runOutage(client: Client, bootstrap: string): Promise<void> {
  const now = Date.now();
  const sink = makeSink(client, 'outage', bootstrap);
  let retries = 0;
  let longest = 0;
  for (const b of makeBatches(OUTAGE_FRAMES, now)) {
    const started = performance.now();
    const req = requestOf(sink, b); // one request per batch, retried as the pipeline does: acknowledged parts are not resent
    await retryWithBackoff(async () => {
      const t = performance.now();
      try {
        await sink.send(req, never);
      } finally {
        longest = Math.max(longest, performance.now() - t);
      }
    }, { initialMs: 200, maxMs: 1000, shouldRetry: (err) => !(err instanceof PermanentError), onRetry: () => retries++ });
    process.send!({ acked: b.length, at: Date.now() });
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - started))));
  }
  await sink.close();
  process.send!({ done: true, first: now, retries, longest_send_s: round(longest / 1000) });
  process.disconnect();
}

async function outage(client: Client, broker: KafkaBroker): Promise<Record<string, number>> {
  const proc = fork(fileURLToPath(import.meta.url), ['--outage', client, broker.bootstrap], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const acks: number[] = [];
  let acked = 0;
  let summary: { first: number; retries: number; longest_send_s: number } | undefined;
  let downAt = 0;
  let upAt = 0;
  let bounce: Promise<void> | undefined;
  proc.on('message', (m: { acked?: number; at?: number; done?: boolean; first: number; retries: number; longest_send_s: number }) => {
    if (m.done) summary = m;
    if (!m.acked) return;
    acked += m.acked;
    acks.push(m.at!);
    if (!bounce && acked >= OUTAGE_FRAMES / 3) {
      bounce = (async () => {
        await broker.stop();
        downAt = Date.now();
        await new Promise((r) => setTimeout(r, DOWN_MS));
        await broker.start();
        upAt = Date.now();
      })();
    }
  });
  const code = await new Promise((r) => proc.once('exit', r));
  await bounce;
  if (code !== 0 || !summary) throw new Error(`outage child for ${client} exited ${String(code)}`);
  // Acknowledgements while the broker shuts down still count as before the outage.
  const before = acks.filter((t) => t <= downAt).pop()!;
  const after = acks.find((t) => t > downAt)!;
  // Read back: one uptime point per frame, told apart by its timestamp (now + frame index).
  const reader = new TopicReader(broker.bootstrap, [topicsFor(client, 'outage').metrics]);
  await reader.start();
  const uptimes = () => reader.messages.map((m) => JSON.parse(m.value.toString())).filter((d) => d.name === 'mist.device.uptime');
  const deadline = Date.now() + 60_000;
  while (new Set(uptimes().map((d) => d.timestamp)).size < acked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  await new Promise((r) => setTimeout(r, 2000)); // late duplicates
  const all = uptimes();
  await reader.stop();
  const distinct = new Set(all.map((d) => d.timestamp));
  return {
    frames: acked, lost: acked - distinct.size, duplicated: all.length - distinct.size,
    gap_s: round((after - before) / 1000), after_up_s: round((after - upAt) / 1000),
    longest_send_s: summary.longest_send_s, retries: summary.retries,
  };
}

async function child(client: string, mode: Mode, bootstrap: string): Promise<Record<string, number>> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', client, mode, bootstrap], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`bench child for ${client} exited ${String(code)}`);
  return JSON.parse(out);
}

if (process.argv[2] === '--client') {
  await runClient(process.argv[3] as Client, process.argv[4] as Mode, process.argv[5]!);
} else if (process.argv[2] === '--outage') {
  await runOutage(process.argv[3] as Client, process.argv[4]!);
} else {
  const broker = new KafkaBroker();
  try {
    const bootstrap = await broker.start();
    const clients = (process.env.BENCH_KAFKA_CLIENTS ?? 'kafkajs,platformatic').split(',') as Client[];
    const modes: Mode[] = ['plain', 'zstd', 'outage'];
    await createTopics(bootstrap, clients.flatMap((c) => modes.flatMap((m) => Object.values(topicsFor(c, m)).map((topic) => ({ topic })))));
    const result: Record<string, Record<string, unknown>> = {};
    for (const c of clients) {
      const plain = await child(c, 'plain', bootstrap);
      const zstd = await child(c, 'zstd', bootstrap);
      result[c] = { ...plain, zstd_events_per_s: zstd.events_per_s, zstd_p99_ms: zstd.p99_ms, outage: await outage(c, broker) };
    }
    process.stdout.write(`${JSON.stringify({ kafka: result })}\n`);
  } finally {
    await broker.destroy();
  }
}
