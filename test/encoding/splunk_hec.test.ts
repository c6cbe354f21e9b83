import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hecEvents, hecTime, type HecMetadata } from '../../src/encoding/splunk_hec.js';
import { Points, type Attributes, type Envelope, type LogRecord, type MetricPoint } from '../../src/model.js';

// Envelopes → HEC events: metadata (host, source, sourcetype, index) and the fields Splunk indexes.

const NONE: HecMetadata = { host: '', source: '', sourcetype: '', index: '', metricsIndex: '' };

function point(over: Partial<MetricPoint> = {}): MetricPoint {
  return { name: 'x.bytes', unit: 'By', description: '', kind: 'counter', int: true, value: 42, timeMs: 1_763_992_800_123.456, startTimeMs: 0, attributes: { port: 'eth0', up: true }, ...over };
}

function record(over: Partial<LogRecord> = {}): LogRecord {
  return { timeMs: 1_763_992_801_000, observedMs: 1_763_992_801_004, severityNumber: 9, severityText: 'INFO', body: 'link up', eventName: 'x.link', attributes: { count: 3 }, ...over };
}

function env(resource: Attributes, metrics: MetricPoint[] = [point()], logs: LogRecord[] = []): Envelope {
  return { source: 's', resource, scope: { name: 'ws2otel/x', version: '0' }, metrics: Points.of(metrics), logs, receivedMs: 0 };
}

const parse = (e: Envelope, cfg: HecMetadata = NONE) => hecEvents(e, cfg).map((s) => JSON.parse(s) as Record<string, any>);

describe('HEC event encoding', () => {
  it('writes a point as a metric event: metric_name field, string dimensions, metric_type, time in seconds with ms precision', () => {
    const [ev] = parse(env({ 'device.id': 'd1', 'device.rack': 7 }));
    assert.deepEqual(ev, {
      time: 1_763_992_800.123,
      event: 'metric',
      fields: { 'device.id': 'd1', 'device.rack': '7', port: 'eth0', up: 'true', metric_type: 'Sum', 'metric_name:x.bytes': 42 },
    });
    assert.equal(parse(env({}, [point({ kind: 'gauge' })]))[0]!.fields.metric_type, 'Gauge');
  });

  it('rounds the time to the millisecond', () => {
    assert.equal(hecTime(1_763_992_800_123.5), 1_763_992_800.124);
    assert.equal(hecTime(1_763_992_800_000), 1_763_992_800);
  });

  it('writes a record as an event: body, severity and event name fields, typed attributes', () => {
    const [ev] = parse(env({ 'device.id': 'd1' }, [], [record()]));
    assert.deepEqual(ev, {
      time: 1_763_992_801,
      event: 'link up',
      fields: { 'device.id': 'd1', count: 3, 'event.name': 'x.link', 'otel.log.severity.text': 'INFO', 'otel.log.severity.number': 9 },
    });
  });

  it('never sends a blank event, which HEC refuses with the whole request', () => {
    assert.equal(parse(env({}, [], [record({ body: '' })]))[0]!.event, 'x.link');
    assert.equal(parse(env({}, [], [record({ body: '', eventName: undefined })]))[0]!.event, '-');
  });

  it('takes the host from host.name, else device.name; a configured host wins and host.name then stays a field', () => {
    assert.equal(parse(env({ 'host.name': 'leaf1', 'device.name': 'ap-0' }))[0]!.host, 'leaf1');
    assert.equal(parse(env({ 'host.name': 'leaf1' }))[0]!.fields['host.name'], undefined);
    assert.equal(parse(env({ 'device.name': 'ap-0' }))[0]!.host, 'ap-0');
    assert.equal(parse(env({ 'device.id': 'd1' }))[0]!.host, undefined, 'no host: Splunk uses the token default');
    const [fixed] = parse(env({ 'host.name': 'leaf1' }), { ...NONE, host: 'collector-1' });
    assert.equal(fixed!.host, 'collector-1');
    assert.equal(fixed!.fields['host.name'], 'leaf1');
  });

  it('sends metrics to metrics_index (else index) and records to index; com.splunk.* resource attributes override and are not fields', () => {
    const cfg = { ...NONE, index: 'logs', metricsIndex: 'metrics', source: 'ws2otel', sourcetype: 'st' };
    const both = parse(env({}, [point()], [record()]), cfg);
    assert.deepEqual(both.map((e) => [e.index, e.source, e.sourcetype]), [['metrics', 'ws2otel', 'st'], ['logs', 'ws2otel', 'st']]);
    assert.equal(parse(env({}), { ...NONE, index: 'main' })[0]!.index, 'main');
    const routed = parse(env({ 'com.splunk.index': 'netops', 'com.splunk.source': 'smc', 'com.splunk.sourcetype': 'fw' }, [point()], [record()]), cfg);
    for (const e of routed) {
      assert.deepEqual([e.index, e.source, e.sourcetype], ['netops', 'smc', 'fw']);
      assert.deepEqual(Object.keys(e.fields).filter((k) => k.startsWith('com.splunk')), []);
    }
  });

  it('writes NaN and infinities as the strings HEC parses', () => {
    const vals = [NaN, Infinity, -Infinity].map((value) => parse(env({}, [point({ value })]))[0]!.fields['metric_name:x.bytes']);
    assert.deepEqual(vals, ['NaN', '+Inf', '-Inf']);
  });

  it('lets a point attribute override a resource attribute of the same name', () => {
    assert.equal(parse(env({ port: 'resource' }))[0]!.fields.port, 'eth0');
  });
});
