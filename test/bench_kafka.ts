
// `node dist/test/bench_kafka.js`: ONE JSON line comparing the Kafka client libraries behind the same
// KafkaSink, against one real Kafka 4.3.1 broker (started here), with the same load for each:
//   BENCH_KAFKA_FRAMES Mist device-stats frames (35 points each), mapped beforehand, sent as the
//   pipeline sends them: batches of BENCH_KAFKA_BATCH frames, one batch in flight, default sink
//   settings (otlp_proto, acks all, idempotent, key device.id, no compression).
//   events_per_s  frames acknowledged by the broker per second (first send → last ack)
//   p99_ms        99th percentile of one batch's send → broker acknowledgement
//   rss_mb        peak resident set (VmHWM) of the process that ran that client
// Each client runs in its own child process so neither's memory or JIT state colours the other's.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KafkaBroker, createTopics } from './helpers/kafka.js';
import { silentLog } from './helpers/capture.js';
import { MistMapping } from '../src/sources/mist/mapping.js';
import { deviceStats } from '../src/simulators/mist.js';
import { validateComponent } from '../src/config/component.js';
import { createClient, kafkaSink, KafkaSink } from '../src/sinks/kafka/sink.js';
import { ExportRequest } from '../src/pipeline/request.js';
import type { Envelope } from '../src/model.js';

const FRAMES = Number(process.env.BENCH_KAFKA_FRAMES ?? 20_000);
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 100);
const SITE_ID = 'c1947558-268d-4d31-9a4e-0123456789ab';
const CHANNEL = `/sites/${SITE_ID}/stats/devices`;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function runClient(client: 'kafkajs' | 'platformatic', bootstrap: string): Promise<void> {
  const mapping = new MistMapping('bench', [], {}, '0');
  const now = Date.now();
  const batches: Envelope[][] = [];
  for (let start = 0; start < FRAMES; start += BATCH) {
    const b: Envelope[] = [];
    for (let i = start; i < Math.min(FRAMES, start + BATCH); i++) b.push(mapping.stats(CHANNEL, deviceStats(i % 50, i, SITE_ID, now + i), now + i));
    batches.push(b);
  }
  const topics = { metrics: `bench.${client}.metrics`, logs: `bench.${client}.logs` };
  const { config, problems } = validateComponent(kafkaSink, { name: client, type: 'kafka', brokers: [bootstrap], client, topics }, 'sinks[0]');
  if (!config) throw new Error(problems.join('; '));
  const sink = new KafkaSink(config, createClient(config, { log: silentLog }), { log: silentLog });
  const never = new AbortController().signal;
  await sink.send(new ExportRequest([mapping.stats(CHANNEL, deviceStats(0, 0, SITE_ID, now), now)]), never); // connect, producer id
  const lat: number[] = [];
  const t0 = performance.now();
  for (const b of batches) {
    const s = performance.now();
    await sink.send(new ExportRequest(b), never);
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

async function child(client: string, bootstrap: string): Promise<Record<string, number>> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', client, bootstrap], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`bench child for ${client} exited ${String(code)}`);
  return JSON.parse(out);
}

if (process.argv[2] === '--client') {
  await runClient(process.argv[3] as 'kafkajs' | 'platformatic', process.argv[4]!);
} else {
  const broker = new KafkaBroker();
  try {
    const bootstrap = await broker.start();
    const clients = ['kafkajs', 'platformatic'];
    await createTopics(bootstrap, clients.flatMap((c) => [{ topic: `bench.${c}.metrics` }, { topic: `bench.${c}.logs` }]));
    const result: Record<string, Record<string, number>> = {};
    for (const c of clients) result[c] = await child(c, bootstrap);
    process.stdout.write(`${JSON.stringify({ kafka: result })}\n`);
  } finally {
    await broker.destroy();
  }
}
