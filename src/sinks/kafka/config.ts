import zlib from 'node:zlib';
import type convict from 'convict';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';
import { checkTls, tlsSchema, type TlsSettings } from '../../net/tls.js';
import { checkRange } from '../../config/formats.js';

/** One `type: kafka` entry of `sinks:`; names follow the Collector's kafka exporter where one exists. */
export interface KafkaSinkConfig extends CommonSinkConfig {
  brokers: string[];
  client_id: string;
  /** Which Kafka client library produces: kafkajs (default) or @platformatic/kafka. */
  client: 'kafkajs' | 'platformatic';
  topics: { metrics: string; logs: string };
  key_attribute: string;
  encoding: 'otlp_proto' | 'otlp_json' | 'json';
  acks: 'all' | 'leader' | 'none';
  idempotent: boolean;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  max_message_bytes: number;
  max_request_bytes: number;
  timeout: number;
  client_retries: number;
  tls: { enabled: boolean } & TlsSettings;
  sasl: { mechanism: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export function kafkaSchema(): convict.Schema<KafkaSinkConfig> {
  return {
    ...commonSinkSchema('kafka'),
    brokers: { doc: 'Bootstrap brokers, host:port', format: 'nonempty-strings', default: [] },
    client_id: { doc: 'Kafka client.id (broker logs and quotas)', format: 'required-string', default: 'ws2otel' },
    client: { doc: 'Client library: kafkajs or platformatic (@platformatic/kafka)', format: ['kafkajs', 'platformatic'], default: 'kafkajs' },
    topics: {
      metrics: { doc: 'Topic for metrics; %{attr} is replaced by that resource attribute', format: 'required-string', default: 'otlp_metrics' },
      logs: { doc: 'Topic for logs; %{attr} is replaced by that resource attribute', format: 'required-string', default: 'otlp_logs' },
    },
    key_attribute: {
      doc: 'Resource attribute whose value is the message key (one device stays in one partition, in order); empty: no key',
      format: String,
      default: 'device.id',
    },
    encoding: { doc: 'otlp_proto, otlp_json (an Export*ServiceRequest per message) or json (one flat object per point/record)', format: ['otlp_proto', 'otlp_json', 'json'], default: 'otlp_proto' },
    acks: { doc: 'all: every in-sync replica; leader; none (fire and forget: delivery unconfirmed)', format: ['all', 'leader', 'none'], default: 'all' },
    idempotent: { doc: 'Idempotent producer (no duplicates from the client’s own retries); needs acks: all', format: Boolean, default: true },
    compression: { doc: 'Record batch compression', format: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'none' },
    max_message_bytes: { doc: 'Largest message (encoded value + key) sent; larger ones are split, or rejected when they cannot be', format: 'nat', default: 1_000_000 },
    max_request_bytes: { doc: 'Cap on the messages of one produce request (sum of value and key bytes)', format: 'nat', default: 4_000_000 },
    timeout: { doc: 'Time limit of one produce request (broker acknowledgement)', format: 'duration', default: '10s' as unknown as number },
    client_retries: { doc: "The client library's own retries before an error reaches the pipeline (which then retries with backoff); 0..10; with idempotent, kafkajs takes 1..10 and platformatic 0 or 2..10", format: 'nat', default: 2 },
    tls: {
      enabled: { doc: 'Connect with TLS', format: Boolean, default: false },
      ...tlsSchema(),
    },
    sasl: {
      mechanism: { doc: 'none, plain, scram-sha-256 or scram-sha-512', format: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'], default: 'none' },
      username: { doc: 'SASL user', format: String, default: '' },
      password: { doc: 'SASL password (or password_file, or ${ENV})', format: String, default: '', sensitive: true },
    },
  };
}

const BROKER_RE = /^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;
const TEMPLATE_RE = /%\{([^}]*)\}/g;
// Kafka topic names: 1..249 of [a-zA-Z0-9._-].
const TOPIC_CHARS_RE = /^[a-zA-Z0-9._-]+$/;

export function checkKafka(c: KafkaSinkConfig): string[] {
  const problems: string[] = [];
  c.brokers.forEach((b, i) => {
    if (!BROKER_RE.test(b)) problems.push(`brokers[${i}]: must be host:port`);
  });
  for (const signal of ['metrics', 'logs'] as const) {
    const t = c.topics[signal];
    const literal = t.replace(TEMPLATE_RE, (_w, attr: string) => {
      if (!attr.trim()) problems.push(`topics.${signal}: %{} needs a resource attribute name`);
      return 'x';
    });
    if (!TOPIC_CHARS_RE.test(literal)) problems.push(`topics.${signal}: outside %{...} a topic may hold only letters, digits, '.', '_' and '-'`);
  }
  if (c.idempotent && c.acks !== 'all') problems.push('idempotent: needs acks: all (or set idempotent: false)');
  if (c.max_message_bytes < 1024) problems.push('max_message_bytes: must be at least 1024');
  // A zero time limit fails every produce request before the broker can answer.
  checkRange(problems, 'timeout', c.timeout, 100, Infinity, ' ms');
  if (c.max_request_bytes < c.max_message_bytes) problems.push('max_request_bytes: must be at least max_message_bytes');
  // More only delays the pipeline's own backoff and buffering, which is where retrying belongs.
  checkRange(problems, 'client_retries', c.client_retries, 0, 10);
  // Each library's idempotent producer has a value it will not take as given: kafkajs refuses 0 at
  // every send (forever, to the pipeline's retries); @platformatic/kafka reads 1 as "retry forever".
  if (c.idempotent && c.client === 'kafkajs' && c.client_retries === 0) problems.push('client_retries: 0 is refused by the kafkajs idempotent producer: use 1..10, or idempotent: false');
  if (c.idempotent && c.client === 'platformatic' && c.client_retries === 1) problems.push('client_retries: 1 cannot be honoured by client platformatic with idempotent: true (the library retries forever then): use 0 or 2..10');
  if (c.sasl.mechanism !== 'none' && (!c.sasl.username || !c.sasl.password)) problems.push('sasl: username and password are required for mechanism ' + c.sasl.mechanism);
  if (c.tls.enabled) problems.push(...checkTls(c.tls));
  if (c.client === 'platformatic' && c.compression === 'zstd' && !zstdInNode()) problems.push('compression: zstd with client platformatic needs Node.js 22.15 or newer (node:zlib zstd)');
  return problems;
}

/** Node 22.15+ has zlib.zstdCompressSync, which @platformatic/kafka uses for zstd. */
function zstdInNode(): boolean {
  return typeof (zlib as unknown as Record<string, unknown>).zstdCompressSync === 'function';
}
