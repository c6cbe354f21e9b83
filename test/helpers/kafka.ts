import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// A real single-node Apache Kafka broker (KRaft) for the tests, through scripts/kafka-{start,stop}.sh:
// its own temp workdir, restartable on the same storage and port (a test can bounce it mid-stream),
// and killed when the test process ends, however it ends. Nothing stands in for it in e2e tests.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

const live = new Set<KafkaBroker>();
let reaperInstalled = false;

function reapAll(): void {
  for (const b of live) b.kill();
}

function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.once('exit', reapAll);
  // The broker runs in its own session (setsid): a test runner's SIGTERM/SIGINT does not reach it.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      reapAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export class KafkaBroker {
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-kafka-'));
  bootstrap = '';

  /** Starts (or restarts, on the same storage and port) the broker; resolves with host:port once it serves. */
  async start(): Promise<string> {
    installReaper();
    live.add(this);
    try {
      const { stdout } = await run('bash', [join(ROOT, 'scripts/kafka-start.sh'), this.dir], { encoding: 'utf8', timeout: 150_000 });
      this.bootstrap = stdout.trim().split('\n').pop()!;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kafka-start.sh failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    return this.bootstrap;
  }

  /** A controlled shutdown (SIGTERM, SIGKILL after 30 s): acknowledged data is on disk for a restart. */
  async stop(): Promise<void> {
    await run('bash', [join(ROOT, 'scripts/kafka-stop.sh'), this.dir], { encoding: 'utf8', timeout: 60_000 });
  }

  async restart(): Promise<string> {
    await this.stop();
    return this.start();
  }

  /** Stops the broker and deletes its storage. */
  async destroy(): Promise<void> {
    await this.stop();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  get pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, 'kafka.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Synchronous SIGKILL, for process exit: no waiting, no cleanup of the workdir. */
  kill(): void {
    const pid = this.pid;
    if (!pid) return;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('kafka.Kafka')) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface Consumed {
  topic: string;
  partition: number;
  key: string | null;
  value: Buffer;
}

/**
 * A plain kafkajs consumer (its own group, from the earliest offset) that keeps every message of the
 * given topics; what a ksqlDB or Splunk connector user would see on the wire.
 */
export class TopicReader {
  readonly messages: Consumed[] = [];
  private consumer: import('kafkajs').Consumer | undefined;

  constructor(private readonly bootstrap: string, private readonly topics: string[]) {}

  async start(): Promise<void> {
    const { default: kafkajs } = await import('kafkajs');
    // Snappy/lz4/zstd batches are read with the codecs the sink registers.
    const { registerKafkajsCodecs } = await import('../../src/sinks/kafka/codecs.js');
    registerKafkajsCodecs();
    const kafka = new kafkajs.Kafka({ clientId: 'ws2otel-test-reader', brokers: [this.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: this.topics.map((topic) => ({ topic })), waitForLeaders: true });
    await admin.disconnect();
    this.consumer = kafka.consumer({ groupId: `ws2otel-test-${process.pid}-${Math.random().toString(36).slice(2)}`, retry: { retries: 100 } });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        this.messages.push({ topic, partition, key: message.key?.toString() ?? null, value: message.value ?? Buffer.alloc(0) });
      },
    });
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    await c?.disconnect();
  }
}

/** Creates topics (with optional per-topic configs) so consumers can join before the first message. */
export async function createTopics(bootstrap: string, topics: { topic: string; configEntries?: { name: string; value: string }[] }[]): Promise<void> {
  const { default: kafkajs } = await import('kafkajs');
  const kafka = new kafkajs.Kafka({ clientId: 'ws2otel-test-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
