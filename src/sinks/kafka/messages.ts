import type { Attributes, Envelope } from '../../model.js';
import { joinParts, splitParts, type Codec } from '../../encoding/codec.js';
import { encodeOtlp, joinRequest, readableOtlp, wrapperBytes, type OtlpFormat } from '../../encoding/otlp.js';
import { flatLogLines, flatMetricLines } from '../../encoding/flat_json.js';
import type { Item } from '../../pipeline/buffer.js';
import type { OutMessage } from './client.js';
import type { KafkaSinkConfig } from './config.js';

// Each envelope is encoded once, at accept, into an item of five parts: its metrics topic, its logs
// topic, its key, and its metrics and logs payloads (otlp_proto: a one-resource export request;
// otlp_json: a ResourceMetrics/ResourceLogs element; json: the flat documents, one a line). A batch
// groups items by (topic, key) and joins their payloads into messages of at most max_message_bytes
// (protobuf by concatenation, OTLP JSON inside the request wrapper), as the Collector's kafka exporter
// writes with partition_*_by_resource_attributes; `json` is one message per point or record. An
// envelope whose payload could never fit a message is refused at accept, alone.

export type Signal = 'metrics' | 'logs';

const TEMPLATE_RE = /%\{([^}]+)\}/g;
const BAD_TOPIC_CHARS = /[^a-zA-Z0-9._-]/g;
const PARTS = 5;

/** Renders a `%{resource.attribute}` topic template; a missing attribute renders as `unknown`. */
export function renderTopic(template: string, resource: Attributes): string {
  if (!template.includes('%{')) return template;
  const t = template.replace(TEMPLATE_RE, (_w, attr: string) => {
    const v = resource[attr.trim()];
    return (v === undefined || v === '' ? 'unknown' : String(v)).replace(BAD_TOPIC_CHARS, '_');
  });
  return t.slice(0, 249);
}

export interface Oversized {
  topic: string;
  bytes: number;
  /** The item the message came from. */
  item: Item;
}

export interface Built {
  messages: OutMessage[];
  oversized: Oversized[];
}

function otlpFormat(cfg: KafkaSinkConfig): OtlpFormat | undefined {
  return cfg.encoding === 'otlp_proto' ? 'proto' : cfg.encoding === 'otlp_json' ? 'json' : undefined;
}

/** The Kafka sink's wire form for its config (see the file comment). */
export function kafkaCodec(cfg: KafkaSinkConfig): Codec {
  const format = otlpFormat(cfg);
  const max = cfg.max_message_bytes;
  return {
    name: `kafka_${cfg.encoding}`,
    encode: (env: Envelope): Buffer => {
      const k = cfg.key_attribute ? env.resource[cfg.key_attribute] : undefined;
      const key = k === undefined ? '' : String(k);
      const keyBytes = Buffer.byteLength(key);
      const payloads: (Uint8Array | string)[] = format
        ? encodeOtlp(env, format)
        : [flatMetricLines(env), flatLogLines(env)];
      const signals: Signal[] = ['metrics', 'logs'];
      for (let i = 0; i < 2; i++) {
        const p = payloads[i]!;
        const n = typeof p === 'string' ? Buffer.byteLength(p) : p.length;
        if (n === 0) continue;
        // A payload that cannot fit a message alone would be refused at every send: refused now, alone.
        const largest = format ? n + wrapperBytes(1, signals[i]!, format) : Math.max(...String(p).split('\n').map((d) => Buffer.byteLength(d)));
        if (largest + keyBytes > max) throw new RangeError(`${signals[i]}: a message of ${largest + keyBytes} bytes is larger than max_message_bytes (${max})`);
      }
      const topics = signals.map((s, i) => {
        const p = payloads[i]!;
        return (typeof p === 'string' ? p.length : p.length) ? renderTopic(cfg.topics[s], env.resource) : '';
      });
      return joinParts([topics[0]!, topics[1]!, key, payloads[0]!, payloads[1]!]);
    },
    readable: (bytes) => {
      const [mt, lt, key, m, l] = splitParts(bytes, PARTS);
      const data: object = format ? (readableOtlp(m!, l!, format) as object) : {
        metrics: m!.length ? m!.toString('utf8').split('\n').map((d) => JSON.parse(d) as unknown) : [],
        logs: l!.length ? l!.toString('utf8').split('\n').map((d) => JSON.parse(d) as unknown) : [],
      };
      return { topics: { metrics: mt!.toString(), logs: lt!.toString() }, key: key!.toString(), ...data };
    },
  };
}

interface Group {
  topic: string;
  key: Buffer | null;
  parts: { payload: Buffer; item: Item }[];
}

function groups(items: readonly Item[], signal: Signal): Group[] {
  const out = new Map<string, Group>();
  const [topicAt, payloadAt] = signal === 'metrics' ? [0, 3] : [1, 4];
  for (const item of items) {
    const parts = splitParts(item.bytes, PARTS);
    const payload = parts[payloadAt]!;
    if (payload.length === 0) continue;
    const topic = parts[topicAt]!.toString('utf8');
    const key = parts[2]!;
    const id = `${topic}\u0000${key.toString('latin1')}`;
    let g = out.get(id);
    if (!g) out.set(id, (g = { topic, key: key.length === 0 ? null : Buffer.from(key), parts: [] }));
    g.parts.push({ payload, item });
  }
  return [...out.values()];
}

/** The batch's messages for one signal, items' payloads joined per (topic, key) up to max_message_bytes, in order. */
export function buildMessages(items: readonly Item[], signal: Signal, cfg: KafkaSinkConfig): Built {
  const messages: OutMessage[] = [];
  const oversized: Oversized[] = [];
  const max = cfg.max_message_bytes;
  const format = otlpFormat(cfg);
  for (const g of groups(items, signal)) {
    const keyBytes = g.key?.length ?? 0;
    if (!format) {
      for (const { payload, item } of g.parts) {
        for (let at = 0; at < payload.length;) {
          let nl = payload.indexOf(0x0a, at);
          if (nl < 0) nl = payload.length;
          const v = Buffer.from(payload.subarray(at, nl));
          if (v.length + keyBytes > max) oversized.push({ topic: g.topic, bytes: v.length + keyBytes, item });
          else messages.push({ topic: g.topic, key: g.key, value: v });
          at = nl + 1;
        }
      }
      continue;
    }
    let cur: Buffer[] = [];
    let size = 0;
    const flush = () => {
      if (cur.length) messages.push({ topic: g.topic, key: g.key, value: joinRequest(cur, signal, format) });
      cur = [];
      size = 0;
    };
    for (const { payload, item } of g.parts) {
      if (payload.length + wrapperBytes(1, signal, format) + keyBytes > max) {
        oversized.push({ topic: g.topic, bytes: payload.length + wrapperBytes(1, signal, format) + keyBytes, item });
        continue;
      }
      if (cur.length && size + payload.length + wrapperBytes(cur.length + 1, signal, format) + keyBytes > max) flush();
      cur.push(payload);
      size += payload.length;
    }
    flush();
  }
  return { messages, oversized };
}

/** Cuts messages into produce requests of at most maxBytes (value + key); order is kept. */
export function chunkRequests(messages: OutMessage[], maxBytes: number): OutMessage[][] {
  const out: OutMessage[][] = [];
  let cur: OutMessage[] = [];
  let size = 0;
  for (const m of messages) {
    const b = m.value.length + (m.key?.length ?? 0);
    if (cur.length && size + b > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += b;
  }
  if (cur.length) out.push(cur);
  return out;
}
