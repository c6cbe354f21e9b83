import type { Attributes, Envelope } from '../../model.js';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { encodeFlatLogs, encodeFlatMetrics } from '../../encoding/flat_json.js';
import type { OutMessage } from './client.js';
import type { KafkaSinkConfig } from './config.js';

// A batch of envelopes → Kafka messages. One message per (topic, key) group for the OTLP encodings
// (an Export*ServiceRequest holding that device's resources, as the Collector's kafka exporter writes
// with partition_*_by_resource_attributes), one per point/record for `json`. A group too large for
// max_message_bytes is split by envelope; what still does not fit is reported, never sent.

export type Signal = 'metrics' | 'logs';

const TEMPLATE_RE = /%\{([^}]+)\}/g;
const BAD_TOPIC_CHARS = /[^a-zA-Z0-9._-]/g;

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
  /** The envelope the message came from (json: one of its points or records). */
  envelope: Envelope;
}

export interface Built {
  messages: OutMessage[];
  oversized: Oversized[];
}

interface Group {
  topic: string;
  key: Buffer | null;
  envs: Envelope[];
}

function groups(batch: readonly Envelope[], signal: Signal, cfg: KafkaSinkConfig): Group[] {
  const out = new Map<string, Group>();
  const template = cfg.topics[signal];
  for (const env of batch) {
    if ((signal === 'metrics' ? env.metrics : env.logs).length === 0) continue;
    const topic = renderTopic(template, env.resource);
    const k = cfg.key_attribute ? env.resource[cfg.key_attribute] : undefined;
    const key = k === undefined ? '' : String(k);
    const id = `${topic}\u0000${key}`;
    let g = out.get(id);
    if (!g) out.set(id, (g = { topic, key: key === '' ? null : Buffer.from(key), envs: [] }));
    g.envs.push(env);
  }
  return [...out.values()];
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export function buildMessages(batch: readonly Envelope[], signal: Signal, cfg: KafkaSinkConfig): Built {
  const messages: OutMessage[] = [];
  const oversized: Oversized[] = [];
  const max = cfg.max_message_bytes;
  for (const g of groups(batch, signal, cfg)) {
    const keyBytes = g.key?.length ?? 0;
    if (cfg.encoding === 'json') {
      for (const env of g.envs) {
        for (const v of signal === 'metrics' ? encodeFlatMetrics([env]) : encodeFlatLogs([env])) {
          if (v.byteLength + keyBytes > max) oversized.push({ topic: g.topic, bytes: v.byteLength + keyBytes, envelope: env });
          else messages.push({ topic: g.topic, key: g.key, value: toBuffer(v) });
        }
      }
      continue;
    }
    const format = cfg.encoding === 'otlp_proto' ? 'proto' : 'json';
    const encode = (envs: Envelope[]) => (signal === 'metrics' ? encodeMetrics(envs, format) : encodeLogs(envs, format));
    const pending = [g.envs];
    while (pending.length) {
      const envs = pending.pop()!;
      const v = encode(envs);
      if (!v) continue;
      if (v.byteLength + keyBytes <= max) {
        messages.push({ topic: g.topic, key: g.key, value: toBuffer(v) });
      } else if (envs.length > 1) {
        // Halves, second pushed first: messages keep the envelopes' order within a key.
        const mid = envs.length >> 1;
        pending.push(envs.slice(mid), envs.slice(0, mid));
      } else {
        oversized.push({ topic: g.topic, bytes: v.byteLength + keyBytes, envelope: envs[0]! });
      }
    }
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
