import type { AttrValue, Attributes, Envelope, LogRecord, MetricPoint } from '../model.js';
import type { Codec } from './codec.js';

// Envelopes → Splunk HEC JSON events (`/services/collector/event`), following the Collector's
// splunk_hec exporter so that searches written for Collector data work on ws2otel's:
// - a metric point is one event `{"event":"metric","fields":{"metric_name:<name>":value, …dimensions}}`,
//   dimensions being the resource and point attributes as strings, plus `metric_type` (Gauge, Sum);
// - a log record is one event whose `event` is the body, its attributes, the resource's and the
//   severity (`otel.log.severity.text` / `.number`) in `fields`.
// Times are epoch seconds with millisecond precision. HEC batches are events written one after the
// other, so each envelope is encoded once into strings that a request simply concatenates.

/** Resource attributes that become HEC's own metadata instead of fields (the Collector's names). */
export const HEC_RESOURCE_KEYS = { host: 'host.name', source: 'com.splunk.source', sourcetype: 'com.splunk.sourcetype', index: 'com.splunk.index' } as const;

// When no host is configured or given as host.name, the device is the host.
const HOST_FALLBACKS = ['host.name', 'device.name'];

export interface HecMetadata {
  /** Empty: the resource's host.name, else its device.name, else none (Splunk uses the token's default). */
  host: string;
  source: string;
  sourcetype: string;
  /** Index of log events; empty: the token's default index. */
  index: string;
  /** Index of metric events; empty: `index`. */
  metricsIndex: string;
}

interface EventMeta {
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
}

/** Epoch ms (maybe fractional) → seconds with millisecond precision, as HEC's `time`. */
export function hecTime(ms: number): number {
  return Math.round(ms) / 1000;
}

// HEC (and JSON) has no NaN or infinities; the Collector's exporter sends them as these strings.
function metricValue(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function str(v: AttrValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** HEC metadata for one envelope: resource attributes override the configured defaults, as in the Collector. */
function metadataFor(resource: Attributes, cfg: HecMetadata, metrics: boolean): EventMeta {
  const meta: EventMeta = {};
  let host = cfg.host;
  if (!host) {
    for (const k of HOST_FALLBACKS) {
      if (resource[k] !== undefined && resource[k] !== '') {
        host = str(resource[k]!);
        break;
      }
    }
  }
  if (host) meta.host = host;
  const source = resource[HEC_RESOURCE_KEYS.source] !== undefined ? str(resource[HEC_RESOURCE_KEYS.source]!) : cfg.source;
  if (source) meta.source = source;
  const sourcetype = resource[HEC_RESOURCE_KEYS.sourcetype] !== undefined ? str(resource[HEC_RESOURCE_KEYS.sourcetype]!) : cfg.sourcetype;
  if (sourcetype) meta.sourcetype = sourcetype;
  const index = resource[HEC_RESOURCE_KEYS.index] !== undefined ? str(resource[HEC_RESOURCE_KEYS.index]!) : metrics ? cfg.metricsIndex || cfg.index : cfg.index;
  if (index) meta.index = index;
  return meta;
}

const ROUTING_KEYS = new Set<string>([HEC_RESOURCE_KEYS.source, HEC_RESOURCE_KEYS.sourcetype, HEC_RESOURCE_KEYS.index]);

/** Resource attributes as fields, minus those that became HEC metadata (host.name: when it named the host). */
function resourceFields(resource: Attributes, cfg: HecMetadata, asStrings: boolean): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const k in resource) {
    if (ROUTING_KEYS.has(k) || (k === HEC_RESOURCE_KEYS.host && !cfg.host)) continue;
    out[k] = asStrings ? str(resource[k]!) : resource[k]!;
  }
  return out;
}

export function hecMetricEvent(p: MetricPoint, meta: EventMeta, common: Record<string, AttrValue>): string {
  const fields: Record<string, AttrValue> = { ...common };
  for (const k in p.attributes) fields[k] = str(p.attributes[k]!);
  fields['metric_type'] = p.kind === 'gauge' ? 'Gauge' : 'Sum';
  fields[`metric_name:${p.name}`] = metricValue(p.value);
  return JSON.stringify({ time: hecTime(p.timeMs), ...meta, event: 'metric', fields });
}

export function hecLogEvent(r: LogRecord, meta: EventMeta, common: Record<string, AttrValue>): string {
  const fields: Record<string, AttrValue> = { ...common };
  for (const k in r.attributes) fields[k] = r.attributes[k]!;
  if (r.eventName) fields['event.name'] = r.eventName;
  if (r.severityText) fields['otel.log.severity.text'] = r.severityText;
  if (r.severityNumber) fields['otel.log.severity.number'] = r.severityNumber;
  // HEC refuses a blank event (code 13) and with it the whole request: a record without a body
  // carries its event name (or a dash) instead, so it never fails the records around it.
  const event = r.body !== '' ? r.body : r.eventName || '-';
  return JSON.stringify({ time: hecTime(r.timeMs || r.observedMs), ...meta, event, fields });
}

/** One HEC event (a JSON object as text) per point and per record of the envelope. */
export function hecEvents(env: Envelope, cfg: HecMetadata): string[] {
  const out: string[] = [];
  if (env.metrics.length) {
    const meta = metadataFor(env.resource, cfg, true);
    const common = resourceFields(env.resource, cfg, true);
    for (const p of env.metrics) out.push(hecMetricEvent(p, meta, common));
  }
  if (env.logs.length) {
    const meta = metadataFor(env.resource, cfg, false);
    const common = resourceFields(env.resource, cfg, false);
    for (const r of env.logs) out.push(hecLogEvent(r, meta, common));
  }
  return out;
}

/** The HEC sink's wire form: an envelope's events, newline-joined (JSON text never holds a raw newline). */
export function hecCodec(cfg: HecMetadata): Codec {
  return {
    name: 'hec',
    encode: (env) => Buffer.from(hecEvents(env, cfg).join('\n')),
    readable: (bytes) => bytes.toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown),
  };
}
