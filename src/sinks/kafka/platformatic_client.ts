import type { Producer, SASLOptions } from '@platformatic/kafka';
import type { Logger } from '../../telemetry/logger.js';
import { ACKS, classify, needsProducerReset, tlsOptions, type OutMessage, type ProducerClient } from './client.js';
import type { KafkaSinkConfig } from './config.js';

// The same producer on @platformatic/kafka (config `client: platformatic`), kept for the measured
// comparison in test/bench_kafka.ts; see the README for the figures and why kafkajs is the default.

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

type P = Producer<Buffer, Buffer, Buffer, Buffer>;

export class PlatformaticClient implements ProducerClient {
  private producer: P | undefined;
  // Loaded on first use: kafkajs users never load this library.
  private static lib: Promise<typeof import('@platformatic/kafka')> | undefined;

  constructor(private readonly cfg: KafkaSinkConfig, private readonly log: Logger) {}

  private async create(): Promise<P> {
    const { Producer, compatibilityPartitioner } = await (PlatformaticClient.lib ??= import('@platformatic/kafka'));
    const c = this.cfg;
    const tls = tlsOptions(c.tls);
    return new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: c.client_id,
      bootstrapBrokers: c.brokers,
      idempotent: c.idempotent,
      acks: ACKS[c.acks],
      compression: c.compression,
      // Java's murmur2 partitioning (its defaultPartitioner skips Java's positive mask).
      partitioner: compatibilityPartitioner,
      autocreateTopics: true,
      // Bounded for the same reason as with kafkajs: errors must reach the pipeline's backoff.
      retries: c.client_retries,
      retryDelay: 250,
      timeout: c.timeout,
      connectTimeout: Math.min(c.timeout, 5000),
      requestTimeout: c.timeout,
      ...(tls ? { tls } : {}),
      ...(c.sasl.mechanism !== 'none' ? { sasl: { mechanism: SASL[c.sasl.mechanism], username: c.sasl.username, password: c.sasl.password } as SASLOptions } : {}),
    });
  }

  async send(messages: OutMessage[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      this.producer ??= await this.create();
      const sent = this.producer.send({
        messages: messages.map((m) => (m.key ? { topic: m.topic, key: m.key, value: m.value } : { topic: m.topic, value: m.value })),
      });
      // Measured with 1.35.0 against Kafka 4.3.1: with the broker down, send() neither resolves nor
      // rejects (its timeout and retries notwithstanding). A deadline of its own turns that into a
      // retryable error and a fresh producer, so the pipeline's retry and backoff still work.
      const deadlineMs = this.cfg.timeout * (this.cfg.client_retries + 1) + 1000;
      const deadline = new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no broker acknowledgement within ${deadlineMs} ms`), { stalled: true })), deadlineMs);
      });
      sent.catch(() => {}); // a late rejection after the deadline is not unhandled
      await Promise.race([sent, deadline]);
    } catch (err) {
      if ((err as { stalled?: boolean }).stalled || needsProducerReset(err)) {
        this.log.warn('kafka producer stalled or out of sync with the broker; starting a new producer');
        const old = this.producer;
        this.producer = undefined;
        await (old?.close(true) as unknown as Promise<void> | undefined)?.catch(() => {});
      }
      throw classify(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {});
  }
}
