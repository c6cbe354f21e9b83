import type { Envelope } from '../model.js';
import { joinParts, splitParts, type Codec } from './codec.js';
import { logsRequestBytes, metricsRequestBytes, otlpProtoItem } from './otlp_proto.js';
import { logsElementJson, metricsElementJson } from './otlp_json.js';
import { readableLogs, readableMetrics } from './otlp_readable.js';

// Envelopes → OTLP export requests, encoded once per envelope when a sink accepts it. An item holds two
// parts, the metrics and the logs (either may be empty): protobuf, the bytes of a one-resource export
// request (a batch body is their concatenation); JSON, the text of one ResourceMetrics/ResourceLogs
// element (a batch body joins them inside the request's wrapper). Every sample keeps its own
// timestamp: nothing aggregates.

export type OtlpFormat = 'proto' | 'json';

/** The envelope's two parts, metrics and logs, in the format. */
export function encodeOtlp(env: Envelope, format: OtlpFormat): [Uint8Array | string, Uint8Array | string] {
  return format === 'proto' ? [metricsRequestBytes(env), logsRequestBytes(env)] : [metricsElementJson(env), logsElementJson(env)];
}

export function otlpCodec(format: OtlpFormat): Codec {
  return {
    name: format === 'proto' ? 'otlp_proto' : 'otlp_json',
    encode: (env) => (format === 'proto' ? otlpProtoItem(env) : joinParts(encodeOtlp(env, format))),
    readable: (bytes) => {
      const [m, l] = splitParts(bytes, 2);
      return readableOtlp(m!, l!, format);
    },
  };
}

/** Metrics and logs parts as one object a person reads: the export requests in OTLP JSON. */
export function readableOtlp(metrics: Buffer, logs: Buffer, format: OtlpFormat): unknown {
  if (format === 'proto') {
    return { ...(metrics.length ? readableMetrics(metrics) : {}), ...(logs.length ? readableLogs(logs) : {}) };
  }
  return {
    ...(metrics.length ? { resourceMetrics: [JSON.parse(metrics.toString('utf8'))] } : {}),
    ...(logs.length ? { resourceLogs: [JSON.parse(logs.toString('utf8'))] } : {}),
  };
}

const OPEN = { metrics: Buffer.from('{"resourceMetrics":['), logs: Buffer.from('{"resourceLogs":[') };
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/** One export request from parts of the same signal: protobuf concatenated, JSON joined in the wrapper. */
export function joinRequest(parts: readonly Buffer[], signal: 'metrics' | 'logs', format: OtlpFormat): Buffer {
  if (format === 'proto') return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const out: Buffer[] = [OPEN[signal]];
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out.push(COMMA);
    out.push(parts[i]!);
  }
  out.push(CLOSE);
  return Buffer.concat(out);
}

/** Bytes the JSON wrapper adds around `n` elements (protobuf adds none). */
export function wrapperBytes(n: number, signal: 'metrics' | 'logs', format: OtlpFormat): number {
  return format === 'proto' ? 0 : OPEN[signal].length + CLOSE.length + Math.max(0, n - 1);
}

/** The batch's ExportMetricsServiceRequest and ExportLogsServiceRequest bodies; undefined for a signal with no data. */
export function otlpBodies(items: readonly { bytes: Buffer }[], format: OtlpFormat): { metrics?: Buffer; logs?: Buffer } {
  const metrics: Buffer[] = [];
  const logs: Buffer[] = [];
  for (const it of items) {
    const [m, l] = splitParts(it.bytes, 2);
    if (m!.length) metrics.push(m!);
    if (l!.length) logs.push(l!);
  }
  return {
    ...(metrics.length ? { metrics: joinRequest(metrics, 'metrics', format) } : {}),
    ...(logs.length ? { logs: joinRequest(logs, 'logs', format) } : {}),
  };
}
