import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { debugText, pointLine, recordLine, shortResource } from '../../src/encoding/debug_text.js';
import { Points, type Attributes, type Envelope, type LogRecord, type MetricPoint } from '../../src/model.js';

// The debug sink's lines: one per point and per record, readable, never split by the data.

function env(resource: Attributes, metrics: MetricPoint[] = [], logs: LogRecord[] = []): Envelope {
  return { source: 'mist-demo', resource, scope: { name: 'ws2otel/mist', version: '0' }, metrics: Points.of(metrics), logs, receivedMs: 0 };
}

const T = Date.UTC(2025, 10, 24, 14, 0, 0, 123);

function point(over: Partial<MetricPoint> = {}): MetricPoint {
  return { name: 'mist.device.radio.clients', unit: '{client}', description: '', kind: 'gauge', int: true, value: 7, timeMs: T, startTimeMs: 0, attributes: { radio: 'band_5' }, ...over };
}

function record(over: Partial<LogRecord> = {}): LogRecord {
  return { timeMs: T, observedMs: T + 4, severityNumber: 13, severityText: 'WARN', body: 'event 2 on ap-2', eventName: 'mist.AP_DISCONNECTED', attributes: { 'mist.event.type': 'AP_DISCONNECTED', 'mist.event.port': 3 }, ...over };
}

describe('debug line format', () => {
  it('prints a point as time, resource, name{attributes}, value and unit', () => {
    assert.equal(pointLine(env({ 'device.name': 'ap-0', 'device.id': '5c5b35000000' }), point()),
      '2025-11-24T14:00:00.123Z ap-0 mist.device.radio.clients{radio=band_5} 7 {client}');
  });

  it('leaves out empty attributes and the unit 1, keeps fractions', () => {
    assert.equal(pointLine(env({ 'host.name': 'leaf1' }), point({ name: 'nxapi.interface.oper.status', unit: '1', value: 0.25, attributes: {} })),
      '2025-11-24T14:00:00.123Z leaf1 nxapi.interface.oper.status 0.25');
  });

  it('prints a record as time, resource, severity, body and {event.name, attributes}', () => {
    assert.equal(recordLine(env({ 'device.name': 'ap-2' }), record()),
      '2025-11-24T14:00:00.123Z ap-2 WARN  event 2 on ap-2 {event.name=mist.AP_DISCONNECTED,mist.event.type=AP_DISCONNECTED,mist.event.port=3}');
    assert.equal(recordLine(env({}), record({ severityText: '', severityNumber: 0, eventName: undefined, attributes: {} })),
      '2025-11-24T14:00:00.123Z mist-demo -     event 2 on ap-2');
  });

  it('names the resource by device, host or element name, else by the source', () => {
    assert.equal(shortResource(env({ 'device.id': 'd1', 'host.name': 'h1' })), 'h1');
    assert.equal(shortResource(env({ 'smc.element.name': 'fw 1' })), '"fw 1"');
    assert.equal(shortResource(env({ 'deployment.environment.name': 'demo' })), 'mist-demo');
  });

  it('quotes values with spaces or punctuation and escapes line breaks, so one record stays one line', () => {
    const line = recordLine(env({ 'device.name': 'ap-0' }), record({ body: 'line one\nline two', attributes: { text: 'a, b=c', empty: '' } }));
    assert.equal(line, '2025-11-24T14:00:00.123Z ap-0 WARN  line one\\nline two {event.name=mist.AP_DISCONNECTED,text="a, b=c",empty=""}');
    assert.equal(pointLine(env({}), point({ attributes: { port: 'eth\n0' } })).split('\n').length, 1);
  });

  it('prints every point, then every record, of each envelope of a batch, one line each', () => {
    const text = debugText([env({ 'device.name': 'ap-0' }, [point(), point({ value: 8 })], [record()]), env({ 'device.name': 'ap-1' }, [point()])]);
    const lines = text.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.deepEqual(lines.map((l) => l.split(' ').slice(1, 3).join(' ')), [
      'ap-0 mist.device.radio.clients{radio=band_5}', 'ap-0 mist.device.radio.clients{radio=band_5}', 'ap-0 WARN', 'ap-1 mist.device.radio.clients{radio=band_5}',
    ]);
  });
});
