import type { Codec } from '../../encoding/codec.js';
import type { Item } from '../../pipeline/buffer.js';
import { PermanentError, type ExportRequest, type Sink, type SinkContext, type SinkFactory } from '../sink.js';
import type { OutMessage, ProducerClient } from './client.js';
import { checkKafka, kafkaSchema, type KafkaSinkConfig } from './config.js';
import { KafkajsClient } from './kafkajs_client.js';
import { buildMessages, chunkRequests, kafkaCodec, type Oversized } from './messages.js';
import { PlatformaticClient } from './platformatic_client.js';

interface Pending {
  requests: OutMessage[][];
  done: Set<number>;
  oversized: Oversized[];
}

/**
 * Produces each batch to Kafka: metrics and logs to their topics, one device per key. send() resolves
 * only when the broker acknowledged every produce request of the batch (acks: all by default); a
 * retried request resends only the produce requests not yet acknowledged, which it keeps in the
 * request's memo (a split request starts over: duplicates are possible, loss is not). Messages too
 * large to send are reported with their items, so only those are dead-lettered.
 */
export class KafkaSink implements Sink {
  readonly name: string;
  /** Each envelope as its topics, key and payloads (messages.ts). */
  readonly codec: Codec;

  constructor(private readonly cfg: KafkaSinkConfig, private readonly client: ProducerClient, private readonly ctx: SinkContext) {
    this.name = cfg.name;
    this.codec = kafkaCodec(cfg);
  }

  private prepare(items: readonly Item[]): Pending {
    const metrics = buildMessages(items, 'metrics', this.cfg);
    const logs = buildMessages(items, 'logs', this.cfg);
    return {
      requests: chunkRequests([...metrics.messages, ...logs.messages], this.cfg.max_request_bytes),
      done: new Set(),
      oversized: [...metrics.oversized, ...logs.oversized],
    };
  }

  async send(req: ExportRequest, signal: AbortSignal): Promise<void> {
    const p = req.memo('kafka', () => this.prepare(req.items));
    for (let i = 0; i < p.requests.length; i++) {
      if (p.done.has(i)) continue;
      signal.throwIfAborted();
      await this.client.send(p.requests[i]!);
      p.done.add(i);
    }
    if (p.oversized.length) {
      const o = p.oversized;
      p.oversized = []; // reported once; the rest of the batch was delivered
      const largest = o.reduce((a, x) => (x.bytes > a.bytes ? x : a));
      throw new PermanentError(
        `${o.length} message(s) larger than max_message_bytes (${this.cfg.max_message_bytes}) not sent; largest ${largest.bytes} bytes for topic ${largest.topic}`,
        { rejected: [...new Set(o.map((x) => x.item))] },
      );
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export function createClient(cfg: KafkaSinkConfig, ctx: SinkContext): ProducerClient {
  return cfg.client === 'platformatic' ? new PlatformaticClient(cfg, ctx.log) : new KafkajsClient(cfg, ctx.log);
}

export const kafkaSink: SinkFactory<KafkaSinkConfig> = {
  type: 'kafka',
  schema: kafkaSchema,
  check: checkKafka,
  create: (config, ctx) => new KafkaSink(config, createClient(config, ctx), ctx),
};
