import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KafkaConfig } from 'kafkajs';
import { makePki, type Pki } from './tls.js';

// A real single-node Apache Kafka broker (KRaft) for the tests, through scripts/kafka-{start,stop}.sh:
// its own temp workdir, restartable on the same storage and port (a test can bounce it mid-stream),
// and killed when the test process ends, however it ends. Nothing stands in for it in e2e tests.
// Besides PLAINTEXT it listens with SASL_SSL (SCRAM-SHA-512, a certificate made here for each broker).

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

/** The broker's SASL_SSL listener and what a client needs to use it. */
export interface SecuredListener {
  /** localhost:<port>: the name the broker's certificate carries. */
  bootstrap: string;
  /** The same listener by IP, which the certificate does not name: a host-name mismatch. */
  bootstrapByIp: string;
  /** The CA that signed the broker's certificate. */
  caFile: string;
  /** A CA that signed nothing the broker holds. */
  otherCaFile: string;
  username: string;
  password: string;
}

/** A server certificate for DNS:localhost only, signed by the test CA (makePki's names 127.0.0.1 too). */
function localhostCert(pki: Pki): { cert: string; key: string } {
  const f = (n: string) => join(pki.dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'kafka.key', '-out', 'kafka.csr');
  writeFileSync(f('kafka.ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'kafka.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'kafka.crt', '-extfile', 'kafka.ext');
  return { cert: f('kafka.crt'), key: f('kafka.key') };
}

export class KafkaBroker {
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-kafka-'));
  bootstrap = '';
  secured: SecuredListener | undefined;
  private pki: Pki | undefined;
  private tlsFiles: { cert: string; key: string } | undefined;
  // Random per broker: no credential is committed, and a leak test can grep for this exact value.
  private readonly scram = { username: 'ws2otel-e2e', password: `scram-${randomBytes(12).toString('hex')}` };

  /** Starts (or restarts, on the same storage and ports) the broker; resolves with host:port once it serves. */
  async start(): Promise<string> {
    installReaper();
    live.add(this);
    this.pki ??= makePki();
    this.tlsFiles ??= localhostCert(this.pki);
    const env = {
      ...process.env,
      KAFKA_TLS_CERT: this.tlsFiles.cert, KAFKA_TLS_KEY: this.tlsFiles.key,
      KAFKA_SCRAM_USER: this.scram.username, KAFKA_SCRAM_PASSWORD: this.scram.password,
    };
    try {
      const { stdout } = await run('bash', [join(ROOT, 'scripts/kafka-start.sh'), this.dir], { encoding: 'utf8', timeout: 150_000, env });
      this.bootstrap = stdout.trim().split('\n').pop()!;
      const securedBootstrap = readFileSync(join(this.dir, 'bootstrap-sasl-ssl'), 'utf8').trim();
      this.secured = {
        bootstrap: securedBootstrap, bootstrapByIp: securedBootstrap.replace(/^localhost:/, '127.0.0.1:'),
        caFile: this.pki.caCert, otherCaFile: this.pki.otherCaCert, ...this.scram,
      };
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
    if (this.pki) rmSync(this.pki.dir, { recursive: true, force: true });
  }

  /** Lines of the broker's own log that match (e.g. its "Failed authentication" lines). */
  logLines(pattern: RegExp): string[] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'logs', 'server.log'), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => pattern.test(l));
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

  /** `client`: extra kafkajs options, e.g. ssl and sasl to read over the SASL_SSL listener. */
  constructor(private readonly bootstrap: string, private readonly topics: string[], private readonly client: Partial<KafkaConfig> = {}) {}

  async start(): Promise<void> {
    const kafkajs = (await import('../../src/sinks/kafka/kafkajs_client.js')).kafkajs(); // loaded as the sink loads it (its idle timer corrected)
    // Snappy/lz4/zstd batches are read with the codecs the sink registers.
    const { registerKafkajsCodecs } = await import('../../src/sinks/kafka/codecs.js');
    registerKafkajsCodecs();
    const kafka = new kafkajs.Kafka({ clientId: 'ws2otel-test-reader', brokers: [this.bootstrap], logLevel: kafkajs.logLevel.NOTHING, ...this.client });
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
export async function createTopics(bootstrap: string, topics: { topic: string; configEntries?: { name: string; value: string }[] }[], client: Partial<KafkaConfig> = {}): Promise<void> {
  const kafkajs = (await import('../../src/sinks/kafka/kafkajs_client.js')).kafkajs(); // loaded as the sink loads it (its idle timer corrected)
  const kafka = new kafkajs.Kafka({ clientId: 'ws2otel-test-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING, ...client });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs options for a test client on the SASL_SSL listener (the right CA and credentials). */
export function securedClient(l: SecuredListener): Partial<KafkaConfig> {
  return {
    ssl: { ca: readFileSync(l.caFile) },
    sasl: { mechanism: 'scram-sha-512', username: l.username, password: l.password },
    connectionTimeout: 10_000,
  };
}
