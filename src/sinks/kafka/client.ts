import type { ConnectionOptions } from 'node:tls';
import { PermanentError, RetryableError } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import { tlsClientOptions } from '../../net/tls.js';

// What the sink needs from a Kafka client library, so kafkajs and @platformatic/kafka sit behind the
// same sink (config `client:`) and the bench compares them on equal terms.

export interface OutMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer;
}

export interface ProducerClient {
  /** Resolves when the broker acknowledged every message (per `acks`); throws RetryableError or PermanentError. */
  send(messages: OutMessage[]): Promise<void>;
  close(): Promise<void>;
}

// Broker error codes retrying cannot fix: the record or the request is wrong for this broker/topic.
const PERMANENT = new Set([
  'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUIRED_ACKS', 'TOPIC_AUTHORIZATION_FAILED', 'UNSUPPORTED_COMPRESSION_TYPE', 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_TIMESTAMP', 'POLICY_VIOLATION',
]);

// Idempotent-producer state the broker no longer agrees with: only a new producer id gets out of it.
export const PRODUCER_RESET = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

/** Broker error names anywhere in an error tree: kafkajs puts them in `.type`, @platformatic/kafka in `.apiId`. */
export function protocolErrorNames(err: unknown, seen = new Set<unknown>()): string[] {
  if (!err || typeof err !== 'object' || seen.has(err)) return [];
  seen.add(err);
  const e = err as { type?: unknown; apiId?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  const out: string[] = [];
  if (typeof e.type === 'string') out.push(e.type);
  if (typeof e.apiId === 'string') out.push(e.apiId);
  out.push(...protocolErrorNames(e.cause, seen), ...protocolErrorNames(e.originalError, seen));
  if (Array.isArray(e.errors)) for (const x of e.errors) out.push(...protocolErrorNames(x, seen));
  return out;
}

/** Deepest message of an error chain: the wrapper's "retries exceeded" hides the actual cause. */
function describe(err: unknown): string {
  const msgs: string[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 5; i++) {
    const e = cur as { message?: string; errors?: unknown[]; cause?: unknown };
    if (e.message && !msgs.includes(e.message)) msgs.push(e.message);
    cur = e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return msgs.join(': ') || String(err);
}

/** The pipeline's view of a client error: permanent for record/topic problems, retryable for the rest. */
export function classify(err: unknown): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const names = protocolErrorNames(err);
  const permanent = names.find((n) => PERMANENT.has(n));
  if (permanent) return new PermanentError(`${permanent}: ${describe(err)}`);
  return new RetryableError(describe(err));
}

export function needsProducerReset(err: unknown): boolean {
  return protocolErrorNames(err).some((n) => PRODUCER_RESET.has(n));
}

/** node:tls options from the `tls:` block (files read at start-up), or undefined when TLS is off. */
export function tlsOptions(c: KafkaSinkConfig['tls']): ConnectionOptions | undefined {
  if (!c.enabled) return undefined;
  return { rejectUnauthorized: true, ...tlsClientOptions(c) };
}

export const ACKS: Record<KafkaSinkConfig['acks'], number> = { all: -1, leader: 1, none: 0 };
