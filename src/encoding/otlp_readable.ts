// OTLP protobuf → the OTLP JSON shape, for the dead-letter file only (a person reads it): the fields
// ws2otel writes (otlp_proto.ts), decoded by a field table; anything else is skipped. Not on the hot path.

type Kind = 'str' | 'msg' | 'uint' | 'bool' | 'int64' | 'double' | 'fixed64' | 'sfixed64';
type Field = [name: string, kind: Kind, message?: string, repeated?: boolean];

const KV: Field = ['attributes', 'msg', 'KeyValue', true];
const MESSAGES: Record<string, Record<number, Field>> = {
  ExportMetricsServiceRequest: { 1: ['resourceMetrics', 'msg', 'ResourceMetrics', true] },
  ExportLogsServiceRequest: { 1: ['resourceLogs', 'msg', 'ResourceLogs', true] },
  ResourceMetrics: { 1: ['resource', 'msg', 'Resource'], 2: ['scopeMetrics', 'msg', 'ScopeMetrics', true], 3: ['schemaUrl', 'str'] },
  ResourceLogs: { 1: ['resource', 'msg', 'Resource'], 2: ['scopeLogs', 'msg', 'ScopeLogs', true], 3: ['schemaUrl', 'str'] },
  Resource: { 1: KV, 2: ['droppedAttributesCount', 'uint'] },
  ScopeMetrics: { 1: ['scope', 'msg', 'Scope'], 2: ['metrics', 'msg', 'Metric', true], 3: ['schemaUrl', 'str'] },
  ScopeLogs: { 1: ['scope', 'msg', 'Scope'], 2: ['logRecords', 'msg', 'LogRecord', true], 3: ['schemaUrl', 'str'] },
  Scope: { 1: ['name', 'str'], 2: ['version', 'str'], 3: KV },
  KeyValue: { 1: ['key', 'str'], 2: ['value', 'msg', 'AnyValue'] },
  AnyValue: { 1: ['stringValue', 'str'], 2: ['boolValue', 'bool'], 3: ['intValue', 'int64'], 4: ['doubleValue', 'double'] },
  Metric: { 1: ['name', 'str'], 2: ['description', 'str'], 3: ['unit', 'str'], 5: ['gauge', 'msg', 'Gauge'], 7: ['sum', 'msg', 'Sum'] },
  Gauge: { 1: ['dataPoints', 'msg', 'NumberDataPoint', true] },
  Sum: { 1: ['dataPoints', 'msg', 'NumberDataPoint', true], 2: ['aggregationTemporality', 'uint'], 3: ['isMonotonic', 'bool'] },
  NumberDataPoint: { 2: ['startTimeUnixNano', 'fixed64'], 3: ['timeUnixNano', 'fixed64'], 4: ['asDouble', 'double'], 6: ['asInt', 'sfixed64'], 7: KV },
  LogRecord: {
    1: ['timeUnixNano', 'fixed64'], 2: ['severityNumber', 'uint'], 3: ['severityText', 'str'], 5: ['body', 'msg', 'AnyValue'], 6: KV,
    11: ['observedTimeUnixNano', 'fixed64'], 12: ['eventName', 'str'],
  },
};

function varint(buf: Buffer, at: { pos: number }): bigint {
  let v = 0n;
  for (let shift = 0n; ; shift += 7n) {
    if (at.pos >= buf.length || shift > 63n) throw new RangeError('truncated varint');
    const b = buf[at.pos++]!;
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
}

const num = (v: bigint): number | string => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());

function decode(buf: Buffer, type: string): Record<string, unknown> {
  const fields = MESSAGES[type]!;
  const out: Record<string, unknown> = {};
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const tag = Number(varint(buf, at));
    const wire = tag & 7;
    const f = fields[tag >>> 3];
    let value: unknown;
    if (wire === 0) {
      const v = varint(buf, at);
      value = f?.[1] === 'bool' ? v !== 0n : f?.[1] === 'int64' ? num(BigInt.asIntN(64, v)) : num(v);
    } else if (wire === 1) {
      if (at.pos + 8 > buf.length) throw new RangeError('truncated fixed64');
      value = f?.[1] === 'double' ? buf.readDoubleLE(at.pos) : f?.[1] === 'sfixed64' ? num(buf.readBigInt64LE(at.pos)) : buf.readBigUInt64LE(at.pos).toString();
      at.pos += 8;
    } else if (wire === 2) {
      const len = Number(varint(buf, at));
      if (at.pos + len > buf.length) throw new RangeError('truncated field');
      const bytes = buf.subarray(at.pos, at.pos + len);
      at.pos += len;
      value = f?.[1] === 'msg' ? decode(bytes, f[2]!) : bytes.toString('utf8');
    } else if (wire === 5) {
      at.pos += 4;
      continue;
    } else {
      throw new RangeError(`wire type ${wire}`);
    }
    if (!f) continue;
    if (f[3]) ((out[f[0]] ??= []) as unknown[]).push(value);
    else out[f[0]] = value;
  }
  return out;
}

/** An ExportMetricsServiceRequest's bytes as OTLP JSON's object. */
export function readableMetrics(buf: Buffer): Record<string, unknown> {
  return decode(buf, 'ExportMetricsServiceRequest');
}

/** An ExportLogsServiceRequest's bytes as OTLP JSON's object. */
export function readableLogs(buf: Buffer): Record<string, unknown> {
  return decode(buf, 'ExportLogsServiceRequest');
}
