import type { AttrValue, Attributes, Envelope, LogRecord, MetricPoint } from '../model.js';
import type { Codec } from './codec.js';

// Envelopes → one human-readable line per metric point and per log record, in the spirit of the
// Collector's debug exporter at `normal` verbosity (`name{attr=value,…} value`), with the time and a
// short name of the resource in front, so that a person can follow a stream by eye:
//
//   2025-11-24T14:00:00.123Z ap-0 mist.device.radio.clients{radio=band_5} 7 {client}
//   2025-11-24T14:00:01.000Z ap-2 WARN  event 2 on ap-2 {event.name=mist.AP_DISCONNECTED,mist.event.type=AP_DISCONNECTED}

// The resource attributes that name the thing a resource is, most specific first.
const NAME_KEYS = ['device.name', 'host.name', 'smc.element.name', 'device.id', 'service.name'];

/** The resource in a word: its device or host name, else the source's configured name. */
export function shortResource(env: Envelope): string {
  for (const k of NAME_KEYS) {
    const v = env.resource[k];
    if (v !== undefined && v !== '') return plain(String(v));
  }
  return env.source;
}

// Control characters (a newline in a body) would break "one line per record": they are escaped.
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

// A value with spaces or the list's own punctuation is quoted, so the line still parses by eye.
function plain(s: string): string {
  return s !== '' && /^[^\s,{}="]+$/.test(s) ? s : JSON.stringify(s);
}

function value(v: AttrValue): string {
  return typeof v === 'string' ? plain(v) : String(v);
}

function attrList(attrs: Attributes, first?: [string, string]): string {
  const parts = first ? [`${first[0]}=${plain(first[1])}`] : [];
  for (const k in attrs) parts.push(`${k}=${value(attrs[k]!)}`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function time(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '-';
}

/** `<time> <resource> <name>{attrs} <value> [unit]`; a unit of `1` (a plain number) is left out. */
export function pointLine(env: Envelope, p: MetricPoint): string {
  const unit = p.unit && p.unit !== '1' ? ` ${p.unit}` : '';
  return oneLine(`${time(p.timeMs)} ${shortResource(env)} ${p.name}${attrList(p.attributes)} ${p.value}${unit}`);
}

/** `<time> <resource> <SEVERITY> <body> {event.name=…,attrs}`. */
export function recordLine(env: Envelope, r: LogRecord): string {
  const severity = (r.severityText || (r.severityNumber ? `SEV${r.severityNumber}` : '-')).padEnd(5);
  const attrs = attrList(r.attributes, r.eventName ? ['event.name', r.eventName] : undefined);
  return oneLine(`${time(r.timeMs || r.observedMs)} ${shortResource(env)} ${severity} ${r.body}${attrs ? ` ${attrs}` : ''}`);
}

/** Every line of a batch, each ending in a newline. */
export function debugText(batch: readonly Envelope[]): string {
  let out = '';
  for (const env of batch) {
    for (const p of env.metrics) out += pointLine(env, p) + '\n';
    for (const r of env.logs) out += recordLine(env, r) + '\n';
  }
  return out;
}

/** The debug sink's wire form: an envelope's lines, encoded once; a batch is their concatenation. */
export const debugCodec: Codec = {
  name: 'debug_text',
  encode: (env) => Buffer.from(debugText([env])),
  readable: (bytes) => bytes.toString('utf8').split('\n').filter((l) => l !== ''),
};
