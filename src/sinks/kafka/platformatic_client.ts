import type { Producer, SASLOptions } from '@platformatic/kafka';
import type { Logger } from '../../telemetry/logger.js';
import { ACKS, classify, needsProducerReset, tlsOptions, type OutMessage, type ProducerClient } from './client.js';
import type { KafkaSinkConfig } from './config.js';

// The same producer on @platformatic/kafka 2.x (config `client: platformatic`), measured against
// kafkajs in test/bench_kafka.ts; see the README for the figures and why kafkajs is the default.

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

type P = Producer<Buffer, Buffer, Buffer, Buffer>;

/**
 * `retries` for the library: its idempotent Producer silently turns a number of 0 or 1 into "retry
 * forever" (every retryDelay; send() never settles while the broker is down or refuses the password).
 * `false` is its spelling of none; 1 cannot be expressed, which checkKafka refuses.
 */
export function platformaticRetries(clientRetries: number, idempotent: boolean): number | false {
  return idempotent && clientRetries === 0 ? false : clientRetries;
}

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
      retries: platformaticRetries(c.client_retries, c.idempotent),
      retryDelay: 250,
      timeout: c.timeout,
      connectTimeout: Math.min(c.timeout, 5000),
      requestTimeout: c.timeout,
      ...(tls ? { tls } : {}),
      ...(c.sasl.mechanism !== 'none' ? { sasl: { mechanism: SASL[c.sasl.mechanism], username: c.sasl.username, password: c.sasl.password } as SASLOptions } : {}),
    });
  }

  async send(messages: OutMessage[]): Promise<void> {
    try {
      this.producer ??= await this.create();
      await this.producer.send({
        messages: messages.map((m) => (m.key ? { topic: m.topic, key: m.key, value: m.value } : { topic: m.topic, value: m.value })),
      });
    } catch (err) {
      if (needsProducerReset(err)) {
        this.log.warn('kafka producer state out of sync with the broker; starting a new producer');
        const old = this.producer;
        this.producer = undefined;
        await (old?.close(true) as unknown as Promise<void> | undefined)?.catch(() => {});
      }
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {});
  }
}
