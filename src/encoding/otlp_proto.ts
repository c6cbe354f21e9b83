import type { AttrValue, Attributes, Envelope, MetricDesc, Points } from '../model.js';
import { ProtoWriter } from './protobuf.js';
import { groupByMetric, sameMetric } from './metric_groups.js';

// One envelope → the bytes of an OTLP export request holding one ResourceMetrics (or ResourceLogs):
// `field 1, length, message`. A request's only field is that repeated one, and concatenated protobuf
// messages merge by appending repeated fields, so the bytes of many envelopes, concatenated, are one
// valid ExportMetricsServiceRequest: a batch is a concatenation. Field numbers are those of
// opentelemetry-proto v1 (collector/metrics/v1, metrics/v1, logs/v1, common/v1, resource/v1).

const INT64 = 2 ** 63;
/** AggregationTemporality CUMULATIVE: a vendor counter counts from its own start. */
const CUMULATIVE = 2;

const w = new ProtoWriter();

/** AnyValue as the SDK's toAnyValue makes it: strings, booleans, integers as int_value, other numbers as double_value. */
function writeAny(field: number, v: AttrValue): void {
  const at = w.begin(field);
  if (typeof v === 'string') {
    if (v === '') {
      w.tag(1, 2);
      w.varint(0);
    } else w.string(1, v);
  } else if (typeof v === 'boolean') {
    w.tag(2, 0);
    w.varint(v ? 1 : 0);
  } else if (Number.isInteger(v) && Math.abs(v) < INT64) {
    w.int64(3, v);
  } else {
    w.double(4, v);
  }
  w.end(at);
}

function writeAttributes(field: number, attrs: Attributes): void {
  for (const k in attrs) {
    const at = w.begin(field);
    w.string(1, k);
    writeAny(2, attrs[k]!);
    w.end(at);
  }
}

function writeResourceAndScopeStart(env: Envelope): number {
  const res = w.begin(1);
  writeAttributes(1, env.resource);
  w.end(res);
  const scopeBlock = w.begin(2); // scope_metrics / scope_logs
  const scope = w.begin(1);
  w.string(1, env.scope.name);
  w.string(2, env.scope.version);
  w.end(scope);
  return scopeBlock;
}

/**
 * A Metric's name, description and unit, encoded once per name and reused: every frame of a vendor
 * repeats the same few dozen. Bounded: a config that makes a name per frame rebuilds the cache.
 */
interface Header {
  unit: string;
  description: string;
  bytes: Uint8Array;
  /** The envelope that last wrote this name (see writeMetricsRequest): finds a name that comes back. */
  mark: number;
}
const HEADERS_MAX = 10_000;
const headers = new Map<string, Header>();
const hw = new ProtoWriter();
let envelopeMark = 0;

function headerOf(d: MetricDesc): Header {
  const h = headers.get(d.name);
  if (h !== undefined && h.unit === d.unit && h.description === d.description) return h;
  hw.reset();
  hw.string(1, d.name);
  hw.string(2, d.description);
  hw.string(3, d.unit);
  const made: Header = { unit: d.unit, description: d.description, bytes: Uint8Array.from(hw.view(0)), mark: h?.mark ?? 0 };
  if (headers.size >= HEADERS_MAX) headers.clear();
  headers.set(d.name, made);
  return made;
}

/**
 * One Metric of points that share name, kind, unit and int: points `from..to` of `pts`, or, with
 * `which`, the points whose indices are `which[from..to)`.
 */
function writeMetric(pts: Points, which: readonly number[] | undefined, from: number, to: number, header: Header): void {
  const first = which ? which[from]! : from;
  const kind = pts.desc[first]!.kind;
  const int = pts.isInt(first);
  const m = w.begin(2);
  w.raw(header.bytes);
  const data = w.begin(kind === 'gauge' ? 5 : 7);
  for (let k = from; k < to; k++) {
    const i = which ? which[k]! : k;
    const dp = w.begin(1);
    const timeMs = pts.timeMs[i]!;
    w.fixed64Ms(2, kind === 'gauge' ? timeMs : pts.startTimeMs[i]!);
    w.fixed64Ms(3, timeMs);
    if (int) w.sfixed64(6, pts.value[i]!);
    else w.double(4, pts.value[i]!);
    writeAttributes(7, pts.attributes[i]!);
    w.end(dp);
  }
  if (kind !== 'gauge') {
    w.uint(2, CUMULATIVE);
    w.bool(3, kind === 'counter');
  }
  w.end(data);
  w.end(m);
}

/**
 * Writes the points as runs of the same metric, as mappings produce them (a `*` rule's points are
 * adjacent). False, having written nothing, when a name comes back after another: then they are grouped.
 */
function writeRuns(pts: Points): boolean {
  const mark = ++envelopeMark;
  const start = w.pos;
  for (let from = 0; from < pts.length; ) {
    let to = from + 1;
    while (to < pts.length && sameMetric(pts, from, to)) to++;
    const h = headerOf(pts.desc[from]!);
    if (h.mark === mark) {
      w.pos = start;
      return false;
    }
    h.mark = mark;
    writeMetric(pts, undefined, from, to, h);
    from = to;
  }
  return true;
}

/** Appends the envelope's points as one ExportMetricsServiceRequest (nothing when it has none). */
function writeMetricsRequest(env: Envelope): void {
  if (env.metrics.length === 0) return;
  const rm = w.begin(1);
  const sm = writeResourceAndScopeStart(env);
  const pts = env.metrics;
  if (!writeRuns(pts)) {
    for (const g of groupByMetric(pts)) writeMetric(pts, g, 0, g.length, headerOf(pts.desc[g[0]!]!));
  }
  w.end(sm);
  w.end(rm);
}

/** Appends the envelope's log records as one ExportLogsServiceRequest (nothing when it has none). */
function writeLogsRequest(env: Envelope): void {
  if (env.logs.length === 0) return;
  const rl = w.begin(1);
  const sl = writeResourceAndScopeStart(env);
  for (const r of env.logs) {
    const lr = w.begin(2);
    w.fixed64Ms(1, r.timeMs);
    w.uint(2, r.severityNumber);
    w.string(3, r.severityText);
    writeAny(5, r.body);
    writeAttributes(6, r.attributes);
    w.fixed64Ms(11, r.observedMs);
    if (r.eventName) w.string(12, r.eventName);
    w.end(lr);
  }
  w.end(sl);
  w.end(rl);
}

/**
 * The envelope's points as one ExportMetricsServiceRequest (one ResourceMetrics, one scope), points of a
 * name, kind and unit under one Metric in arrival order; an empty buffer when it has no points.
 */
export function metricsRequestBytes(env: Envelope): Buffer {
  w.reset();
  writeMetricsRequest(env);
  return w.copy();
}

/** The envelope's log records as one ExportLogsServiceRequest (one ResourceLogs, one scope); empty without records. */
export function logsRequestBytes(env: Envelope): Buffer {
  w.reset();
  writeLogsRequest(env);
  return w.copy();
}

/**
 * Both requests as the two parts of one item (codec.ts joinParts: the metrics behind their u32le
 * length, then the logs), written in one pass and copied out once.
 */
export function otlpProtoItem(env: Envelope): Buffer {
  w.reset();
  w.pos = 4;
  writeMetricsRequest(env);
  w.u32At(0, w.pos - 4);
  writeLogsRequest(env);
  return w.copy();
}
