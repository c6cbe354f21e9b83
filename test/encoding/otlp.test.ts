import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otlpBodies, otlpCodec } from '../../src/encoding/otlp.js';
import { MistMapping } from '../../src/sources/mist/mapping.js';
import { deviceStats } from '../../src/simulators/mist.js';
import { Points, type Envelope } from '../../src/model.js';
import { itemOf } from '../helpers/capture.js';
import { canonical, decodeLogRecords, decodeMetricPoints, decodeMetricShapes, envelopePoints, jsonPoints, referenceLogs, referenceMetrics } from '../helpers/otlp.js';

// Encode-once: each envelope becomes OTLP bytes when a sink accepts it, and a batch is those bytes
// concatenated. What the bytes say is read by protobufjs (an independent decoder) and compared with what
// the envelopes say and with the official SDK serializer's output, the encoding used before.

const SITE = '978c48e6-6ef6-11e6-8bbf-02e208b2d34f';
const CHANNEL = `/sites/${SITE}/stats/devices`;
const mist = new MistMapping('mist', [], {}, '0.0.0');

/** Mist device-stats envelopes: 35 points each, several devices and sample times (some with microseconds). */
function mistEnvelopes(n: number): Envelope[] {
  return Array.from({ length: n }, (_, i) => mist.stats(CHANNEL, deviceStats(i % 3, i, SITE, 1_700_000_000_000 + i * 1000.125), 1_700_000_000_000 + i));
}

/** Everything the model allows: repeated names with other attributes, int/double, gauge/counter/updown, typed attributes, logs. */
function edgeEnvelope(): Envelope {
  const t = 1_700_000_123_456.789;
  return {
    source: 's', resource: { 'device.id': 'd1', port: 8443, up: true, ratio: 0.5, empty: '' }, scope: { name: 'ws2otel/test', version: '1.2.3' }, receivedMs: 5,
    metrics: Points.of([
      { name: 'if.bytes', unit: 'By', description: 'bytes in', kind: 'counter', int: true, value: 2 ** 40 + 1, timeMs: t, startTimeMs: 1_600_000_000_000, attributes: { if: 'eth0' } },
      { name: 'temp', unit: 'Cel', description: '', kind: 'gauge', int: false, value: -12.25, timeMs: t + 1, startTimeMs: 0, attributes: {} },
      { name: 'if.bytes', unit: 'By', description: 'bytes in', kind: 'counter', int: true, value: 0, timeMs: t, startTimeMs: 1_600_000_000_000, attributes: { if: 'eth1' } },
      { name: 'delta', unit: '1', description: '', kind: 'updown', int: true, value: -3, timeMs: t + 2, startTimeMs: 1_650_000_000_000.5, attributes: { n: -7, big: 2 ** 53, ok: false } },
      { name: 'ünï', unit: '{x}', description: 'δ'.repeat(100), kind: 'gauge', int: false, value: 1e-300, timeMs: 0, startTimeMs: 0, attributes: { long: 'é'.repeat(70) } },
    ]),
    logs: [
      { timeMs: t, observedMs: t + 3, severityNumber: 17, severityText: 'ERROR', body: 'link down', eventName: 'if.down', attributes: { if: 'eth0', n: 1 } },
      { timeMs: 0, observedMs: t, severityNumber: 0, severityText: '', body: '', attributes: {} },
    ],
  };
}

const proto = otlpCodec('proto');
const json = otlpCodec('json');

describe('OTLP encode-once', () => {
  it('protobuf: an envelope encoded once decodes to its own points, each with its own timestamp, as the SDK serializer encodes them', () => {
    for (const env of [...mistEnvelopes(4), edgeEnvelope()]) {
      const { metrics } = otlpBodies([itemOf(env, proto)], 'proto');
      const mine = decodeMetricPoints(metrics!);
      assert.deepEqual(canonical(mine), canonical(envelopePoints([env])), 'what the envelope says');
      assert.deepEqual(canonical(mine), canonical(decodeMetricPoints(referenceMetrics([env]))), 'what the SDK serializer writes');
    }
  });

  it('protobuf: the points of a metric share one Metric, in first-seen order, as the SDK serializer groups them: side by side, coming back later, or coming back after the same name with another unit', () => {
    const t = 1_700_000_000_000;
    const pt = (name: string, unit: string, value: number, attributes = {}) =>
      ({ name, unit, description: '', kind: 'gauge' as const, int: true, value, timeMs: t, startTimeMs: t, attributes });
    const env = (metrics: ReturnType<typeof pt>[]): Envelope => ({ source: 's', resource: { 'device.id': 'd' }, scope: { name: 'ws2otel/test', version: '1' }, metrics: Points.of(metrics), logs: [], receivedMs: t });
    const cases = [
      ...mistEnvelopes(2), // a `*` rule's points side by side (radios, ports)
      edgeEnvelope(), // a name that comes back after another
      env([pt('a', 'By', 1), pt('b', '1', 2), pt('a', 'bit', 3), pt('a', 'By', 4, { k: 'x' })]), // `a` in two units, the first one back
      env([pt('a', 'By', 5), pt('a', 'By', 6, { k: 'y' })]), // the next envelope: `a` in By again, after the cache held it in bit
    ];
    for (const e of cases) {
      const { metrics } = otlpBodies([itemOf(e, proto)], 'proto');
      assert.deepEqual(decodeMetricShapes(metrics!), decodeMetricShapes(referenceMetrics([e])));
      assert.deepEqual(canonical(decodeMetricPoints(metrics!)), canonical(envelopePoints([e])), 'each point with its own unit');
    }
  });

  it('protobuf: a batch body is the items concatenated, one valid request holding every envelope in order', () => {
    const envs = [...mistEnvelopes(6), edgeEnvelope()];
    const items = envs.map((e) => itemOf(e, proto));
    const { metrics, logs } = otlpBodies(items, 'proto');
    assert.deepEqual(decodeMetricPoints(metrics!), decodeMetricPoints(Buffer.concat(envs.map((e) => otlpBodies([itemOf(e, proto)], 'proto').metrics).filter((b) => b !== undefined))));
    // Points of each envelope stay together and in envelope order; within one, points of a metric are grouped.
    const rows = decodeMetricPoints(metrics!);
    assert.equal(rows.length, envs.reduce((n, e) => n + e.metrics.length, 0));
    assert.deepEqual(canonical(rows), canonical(envelopePoints(envs)));
    const devices = rows.map((r) => r.resource['mist.device.mac'] ?? r.resource['device.id']);
    assert.deepEqual(devices.filter((d, i) => d !== devices[i - 1]), envs.map((e) => e.resource['mist.device.mac'] ?? e.resource['device.id']));
    assert.deepEqual(decodeLogRecords(logs!), decodeLogRecords(referenceLogs(envs)), 'the logs as the SDK serializer writes them');
  });

  it('protobuf: log records keep their times, severity, body, event name and typed attributes', () => {
    const env = edgeEnvelope();
    const rows = decodeLogRecords(otlpBodies([itemOf(env, proto)], 'proto').logs!);
    assert.deepEqual(rows, decodeLogRecords(referenceLogs([env])));
    assert.match(rows[0]!.timeUnixNano, /^1700000123456789\d{3}$/, 'microseconds kept (the rest is the double\'s rounding, as in the SDK)');
    assert.equal(rows[0]!.eventName, 'if.down');
    assert.deepEqual(rows[0]!.attributes, { if: 'eth0', n: 1 });
    assert.equal(rows[1]!.body, '', 'an empty body is still a string body');
  });

  it('JSON: a batch joins the elements inside the request wrapper, with the same points as protobuf', () => {
    const envs = [...mistEnvelopes(3), edgeEnvelope()];
    const body = otlpBodies(envs.map((e) => itemOf(e, json)), 'json');
    assert.deepEqual(jsonPoints(body.metrics), decodeMetricPoints(otlpBodies(envs.map((e) => itemOf(e, proto)), 'proto').metrics!));
    const logs = JSON.parse(body.logs!.toString()) as { resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string; body: { stringValue: string } }[] }[] }[] };
    const protoLogs = decodeLogRecords(otlpBodies(envs.map((e) => itemOf(e, proto)), 'proto').logs!);
    assert.deepEqual(logs.resourceLogs.flatMap((r) => r.scopeLogs[0]!.logRecords.map((l) => [l.timeUnixNano, l.body.stringValue])), protoLogs.map((r) => [r.timeUnixNano, r.body]));
    assert.equal(protoLogs.length, 2);
  });

  it('an envelope with no points or no records adds nothing to that signal', () => {
    const onlyLogs = { ...edgeEnvelope(), metrics: new Points() };
    const bodies = otlpBodies([itemOf(onlyLogs, proto)], 'proto');
    assert.equal(bodies.metrics, undefined);
    assert.equal(decodeLogRecords(bodies.logs!).length, 2);
    assert.deepEqual(otlpBodies([itemOf({ ...onlyLogs, logs: [] }, json)], 'json'), {});
  });

  it('the dead-letter form of protobuf bytes is OTLP JSON with the same points as the JSON encoding', () => {
    const env = edgeEnvelope();
    const readable = proto.readable(proto.encode(env)) as { resourceMetrics: unknown[]; resourceLogs: unknown[] };
    assert.deepEqual(jsonPoints(Buffer.from(JSON.stringify({ resourceMetrics: readable.resourceMetrics }))), jsonPoints(otlpBodies([itemOf(env, json)], 'json').metrics));
    assert.deepEqual(json.readable(json.encode(env)), JSON.parse(JSON.stringify(json.readable(json.encode(env)))));
    assert.equal((readable.resourceLogs as any)[0].scopeLogs[0].logRecords[0].body.stringValue, 'link down');
  });
});
