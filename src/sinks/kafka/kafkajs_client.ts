import { createRequire } from 'node:module';
import type * as KafkajsModule from 'kafkajs';
import type { Producer } from 'kafkajs';
import type { Logger } from '../../telemetry/logger.js';
import { ACKS, classify, needsProducerReset, tlsOptions, type OutMessage, type ProducerClient } from './client.js';
import { registerKafkajsCodecs } from './codecs.js';
import type { KafkaSinkConfig } from './config.js';

type Kafkajs = typeof KafkajsModule;
const require = createRequire(import.meta.url);
let loaded: Kafkajs | undefined;
/** kafkajs, loaded when the first Kafka sink is built: a daemon without one does not carry it (about 18 MB). */
export function kafkajs(): Kafkajs {
  if (!loaded) {
    loaded = require('kafkajs') as Kafkajs;
    armOnlyWhenWaiting();
  }
  return loaded;
}

/** kafkajs's own check period for a request queue that has requests waiting (requestQueue/index.js). */
const CHECK_PENDING_MS = 10;

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

/**
 * kafkajs 2.2.4, its last release, re-arms a timer after every check of a connection's request queue,
 * even with nothing waiting: `throttledUntil - now` ms, and `throttledUntil` is -1 until a broker
 * throttles, so the delay is about minus the epoch. Node 24 warns about that (TimeoutNegativeWarning)
 * and runs it every 1 ms for as long as the connection lives (tulios/kafkajs#1751; the fix #1768 is
 * not released). Here the timer is armed only when a request waits, as that fix does; a request that
 * arrives later arms it when it is queued, and a fulfilled one checks the queue itself.
 */
function armOnlyWhenWaiting(): void {
  const queue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue & { scheduleCheckPendingRequests(): void } };
  queue.prototype.scheduleCheckPendingRequests = function (this: RequestQueue): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const wait = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, wait > 0 ? wait : CHECK_PENDING_MS);
  };
}

function compressionType(c: KafkaSinkConfig['compression']): number {
  const { CompressionTypes: t } = kafkajs();
  return { none: t.None, gzip: t.GZIP, snappy: t.Snappy, lz4: t.LZ4, zstd: t.ZSTD }[c];
}

const SASL = { plain: 'plain', 'scram-sha-256': 'scram-sha-256', 'scram-sha-512': 'scram-sha-512' } as const;

/** kafkajs options from the sink config (exported for the config tests). */
export function kafkajsOptions(c: KafkaSinkConfig, log: Logger): ConstructorParameters<Kafkajs['Kafka']>[0] {
  const ssl = tlsOptions(c.tls);
  return {
    clientId: c.client_id,
    brokers: c.brokers,
    ...(ssl ? { ssl } : {}),
    ...(c.sasl.mechanism !== 'none' ? { sasl: { mechanism: SASL[c.sasl.mechanism], username: c.sasl.username, password: c.sasl.password } as never } : {}),
    connectionTimeout: Math.min(c.timeout, 5000),
    requestTimeout: c.timeout,
    // Bounded: a broker that stays down must reach the pipeline as an error, which then backs off and
    // retries while its buffer holds the batch (and applies backpressure to the sources).
    retry: { retries: c.client_retries, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: kafkajs().logLevel.WARN,
    // kafkajs logs every failed request at ERROR; what matters reaches the pipeline's own (rate-limited) log.
    logCreator: () => ({ namespace, log: entry }) => log.debug({ kafkajs: namespace, ...entry }, 'kafkajs'),
  };
}

export class KafkajsClient implements ProducerClient {
  private readonly kafka: InstanceType<Kafkajs['Kafka']>;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(private readonly cfg: KafkaSinkConfig, private readonly log: Logger) {
    if (cfg.compression !== 'none' && cfg.compression !== 'gzip') registerKafkajsCodecs();
    this.kafka = new (kafkajs().Kafka)(kafkajsOptions(cfg, log));
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const p = this.kafka.producer({
        idempotent: this.cfg.idempotent,
        maxInFlightRequests: this.cfg.idempotent ? 1 : 5,
        // Java's partitioner (murmur2 of the key): a device lands where a Java producer would put it.
        createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
        retry: { retries: this.cfg.client_retries, initialRetryTime: 100, maxRetryTime: 1000 },
        allowAutoTopicCreation: true,
      });
      try {
        await p.connect();
      } catch (err) {
        await p.disconnect().catch(() => {});
        throw err;
      }
      this.producer = p;
      return p;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async send(messages: OutMessage[]): Promise<void> {
    try {
      const producer = await this.connect();
      const byTopic = new Map<string, { key: Buffer | null; value: Buffer }[]>();
      for (const m of messages) {
        let l = byTopic.get(m.topic);
        if (!l) byTopic.set(m.topic, (l = []));
        l.push({ key: m.key, value: m.value });
      }
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
        acks: ACKS[this.cfg.acks],
        timeout: this.cfg.timeout,
        compression: compressionType(this.cfg.compression),
      });
    } catch (err) {
      if (needsProducerReset(err)) await this.reset();
      throw classify(err);
    }
  }

  /** Drops the producer: the next send gets a new producer id and fresh sequence numbers. */
  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    this.log.warn('kafka producer state out of sync with the broker; starting a new producer');
    await p?.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    const p = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    await p?.disconnect().catch(() => {});
  }
}
