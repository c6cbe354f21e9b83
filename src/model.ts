// The types that travel the data path: a source decodes a vendor frame, its mapping turns it into an
// Envelope (points and records of one resource), and each sink encodes it once, when it accepts it, into
// the bytes its buffers hold (src/encoding/codec.ts).

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

/** gauge: a sampled value; counter: a monotonic cumulative sum; updown: a non-monotonic cumulative sum. */
export type MetricKind = 'gauge' | 'counter' | 'updown';

/** What a point is a sample of: made once per mapping rule and shared by every point of that rule. */
export interface MetricDesc {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: MetricKind;
  /** Encode whole values as integers (OTLP as_int); counters of bytes and packets are integers on the wire. */
  readonly int: boolean;
}

/** OTLP's as_int is int64: a value past it goes as a double (exact enough, never wrapped). */
const INT64 = 2 ** 63;

/** Whether a value of this metric goes on the wire as an integer: the rule says so and the value is one. */
export function encodesAsInt(desc: MetricDesc, value: number): boolean {
  return desc.int && Number.isInteger(value) && Math.abs(value) < INT64;
}

/** One point as a record: what debug output, flat JSON and HEC events are made from, and what tests read. */
export interface MetricPoint {
  name: string;
  unit: string;
  description: string;
  kind: MetricKind;
  /** Whether it is encoded as an integer (OTLP as_int). */
  int: boolean;
  value: number;
  /** Sample time, epoch milliseconds (may be fractional: Mist's `_time` has microseconds). */
  timeMs: number;
  /** For cumulative sums: when the counter last started from zero (device boot, or first sight). */
  startTimeMs: number;
  attributes: Attributes;
}

/**
 * An envelope's points, column-wise: a Mist frame's 35 points are 35 slots in five arrays, not 35
 * objects made by the mapping only to be read once by the encoder. Point i is `desc[i]` (shared per
 * rule), `value[i]`, `timeMs[i]`, `startTimeMs[i]` and `attributes[i]` (shared per `*` key).
 */
export class Points {
  readonly desc: MetricDesc[] = [];
  readonly value: number[] = [];
  /** Sample times, epoch milliseconds (may be fractional: Mist's `_time` has microseconds). */
  readonly timeMs: number[] = [];
  /** For cumulative sums: when the counter last started from zero (device boot, or first sight). */
  readonly startTimeMs: number[] = [];
  readonly attributes: Attributes[] = [];

  get length(): number {
    return this.value.length;
  }

  add(desc: MetricDesc, value: number, timeMs: number, startTimeMs: number, attributes: Attributes): void {
    this.desc.push(desc);
    this.value.push(value);
    this.timeMs.push(timeMs);
    this.startTimeMs.push(startTimeMs);
    this.attributes.push(attributes);
  }

  /** Keeps the first n points. */
  truncate(n: number): void {
    if (n >= this.length) return;
    this.desc.length = this.value.length = this.timeMs.length = this.startTimeMs.length = this.attributes.length = Math.max(0, n);
  }

  /** Keeps the points `keep` says yes to, in order, moved forward in place (nothing is allocated). */
  retain(keep: (i: number) => boolean): void {
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      if (!keep(i)) continue;
      if (kept !== i) {
        this.desc[kept] = this.desc[i]!;
        this.value[kept] = this.value[i]!;
        this.timeMs[kept] = this.timeMs[i]!;
        this.startTimeMs[kept] = this.startTimeMs[i]!;
        this.attributes[kept] = this.attributes[i]!;
      }
      kept++;
    }
    this.truncate(kept);
  }

  /** Whether point i is encoded as an integer. */
  isInt(i: number): boolean {
    return encodesAsInt(this.desc[i]!, this.value[i]!);
  }

  /** Point i as a record, made on each call: a copy, so it is read-only (change the columns instead). */
  at(i: number): Readonly<MetricPoint> {
    const d = this.desc[i]!;
    return {
      name: d.name, unit: d.unit, description: d.description, kind: d.kind, int: this.isInt(i),
      value: this.value[i]!, timeMs: this.timeMs[i]!, startTimeMs: this.startTimeMs[i]!, attributes: this.attributes[i]!,
    };
  }

  *[Symbol.iterator](): IterableIterator<Readonly<MetricPoint>> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** Every point as a record. */
  toArray(): Readonly<MetricPoint>[] {
    return [...this];
  }

  /** As JSON, a list of point records: the form format-1 disk buffers hold (pipeline/disk_buffer.ts). */
  toJSON(): Readonly<MetricPoint>[] {
    return this.toArray();
  }

  /** Points from records (a heartbeat, a test): records of one metric share one desc. */
  static of(points: Iterable<MetricPoint>): Points {
    const out = new Points();
    const descs = new Map<string, MetricDesc>();
    for (const p of points) {
      const key = `${p.name}\0${p.unit}\0${p.kind}\0${p.int}\0${p.description}`;
      let d = descs.get(key);
      if (!d) descs.set(key, (d = { name: p.name, unit: p.unit, description: p.description, kind: p.kind, int: p.int }));
      out.add(d, p.value, p.timeMs, p.startTimeMs, p.attributes);
    }
    return out;
  }
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
  metrics: Points;
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
