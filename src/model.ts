// The types that travel the data path: a source decodes a vendor frame, its mapping turns it into an
// Envelope (points and records of one resource), the pipeline buffers Envelopes, a sink encodes them.

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

/** gauge: a sampled value; counter: a monotonic cumulative sum; updown: a non-monotonic cumulative sum. */
export type MetricKind = 'gauge' | 'counter' | 'updown';

export interface MetricPoint {
  name: string;
  unit: string;
  description: string;
  kind: MetricKind;
  /** Encode as an integer (OTLP as_int); counters of bytes and packets are integers on the wire. */
  int: boolean;
  value: number;
  /** Sample time, epoch milliseconds (may be fractional: Mist's `_time` has microseconds). */
  timeMs: number;
  /** For cumulative sums: when the counter last started from zero (device boot, or first sight). */
  startTimeMs: number;
  attributes: Attributes;
}

export interface LogRecord {
  timeMs: number;
  observedMs: number;
  /** OpenTelemetry SeverityNumber (1..24), 0 when unknown. */
  severityNumber: number;
  severityText: string;
  body: string;
  eventName?: string;
  attributes: Attributes;
}

export interface Scope {
  name: string;
  version: string;
}

/** One vendor frame's worth of telemetry, for one resource (element, device, site). */
export interface Envelope {
  /** The source's configured name: sinks select their inputs by it. */
  source: string;
  resource: Attributes;
  scope: Scope;
  metrics: MetricPoint[];
  logs: LogRecord[];
  /** When the frame arrived (epoch ms): the start of ws2otel's added latency. */
  receivedMs: number;
}

/** Where a source hands its envelopes: returns false when the pipeline wants the source to stop reading. */
export interface Emitter {
  emit(envelope: Envelope): boolean;
  /** Called once when the pipeline has room again after emit returned false. */
  onDrain(listener: () => void): void;
}
