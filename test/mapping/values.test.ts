import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, EARLIEST_MS, briefJson, sanitizeEnvelope, type Verdict } from '../../src/mapping/values.js';
import { toNumber } from '../../src/mapping/rules.js';
import { MistMapping } from '../../src/sources/mist/mapping.js';
import { Points, type Envelope, type MetricPoint } from '../../src/model.js';

const NOW = Date.UTC(2026, 5, 1);

function point(over: Partial<MetricPoint>): MetricPoint {
  return { name: 'm', unit: 'By', description: '', kind: 'gauge', int: false, value: 1, timeMs: NOW, startTimeMs: NOW, attributes: {}, ...over };
}

function env(metrics: MetricPoint[]): Envelope {
  return { source: 's', resource: {}, scope: { name: 't', version: '0' }, metrics: Points.of(metrics), logs: [], receivedMs: NOW };
}

function run(e: Envelope): { out: Envelope | undefined; v: Verdict } {
  const v: Verdict = { values: new Map(), cut: new Set() };
  return { out: sanitizeEnvelope(e, { points: 1000, records: 1000 }, DEFAULT_LIMITS, v), v };
}

/** A Mist stats payload mapped as the source maps it. */
function mist(payload: Record<string, unknown>) {
  return run(new MistMapping('s', [], {}, '0').stats('/sites/x/stats/devices', { mac: 'm', ...payload }, NOW));
}

describe('values a sink will accept', () => {
  it('drops a value that overflowed to Infinity (1e999, or 1e306 KiB × 1024) and counts non_finite', () => {
    const parsed = JSON.parse('{"uptime":1e999,"mem_used_kb":1e306,"num_clients":3}') as Record<string, unknown>;
    const { out, v } = mist(parsed);
    assert.deepEqual(out!.metrics.toArray().map((p) => p.name), ['mist.device.clients']);
    assert.ok(out!.metrics.toArray().every((p) => Number.isFinite(p.value)));
    assert.equal(v.values.get('non_finite') ?? 0, 0, 'toNumber already refuses Infinity; the scaled overflow is dropped in the rule');
  });

  it('replaces a _time of 1e20, -5 or 1e306 by the arrival time and counts bad_timestamp', () => {
    for (const t of [1e20, -5, 1e306, 0]) {
      const { out, v } = mist({ _time: t, num_clients: 3 });
      assert.equal(out!.metrics.at(0).timeMs, NOW, `_time ${t}`);
      assert.ok((v.values.get('bad_timestamp') ?? 0) >= 1, `_time ${t} counted`);
    }
  });

  it('keeps a time within the window: after 2000 and at most a day ahead', () => {
    const { out, v } = run(env([point({ timeMs: NOW + 23 * 3600_000, startTimeMs: EARLIEST_MS + 1 })]));
    assert.equal(out!.metrics.at(0).timeMs, NOW + 23 * 3600_000);
    assert.equal(v.values.size, 0);
    const late = run(env([point({ timeMs: NOW + 25 * 3600_000 })]));
    assert.equal(late.out!.metrics.at(0).timeMs, NOW);
  });

  it('sends an integer beyond int64 (tx_bytes 1e20) as a double, never as a wrapped int', () => {
    const { out } = mist({ tx_bytes: 1e20, uptime: 10, _time: NOW / 1000 });
    const p = out!.metrics.toArray().find((x) => x.name === 'mist.device.tx.bytes')!;
    assert.equal(p.value, 1e20);
    assert.equal(p.int, false);
    const small = mist({ tx_bytes: 2 ** 53, uptime: 10, _time: NOW / 1000 }).out!.metrics.toArray().find((x) => x.name === 'mist.device.tx.bytes')!;
    assert.equal(small.int, true, 'within int64 stays an int');
  });

  it('drops a negative value on a monotonic counter and counts negative_counter', () => {
    const { out, v } = mist({ tx_bytes: -5, rx_bytes: 7, uptime: 10, _time: NOW / 1000 });
    assert.equal(out!.metrics.toArray().find((x) => x.name === 'mist.device.tx.bytes'), undefined);
    assert.equal(out!.metrics.toArray().find((x) => x.name === 'mist.device.rx.bytes')!.value, 7);
    assert.equal(v.values.get('negative_counter'), 1);
  });

  it('keeps a negative gauge (a noise floor in dBm is negative)', () => {
    const { out, v } = run(env([point({ value: -92 })]));
    assert.equal(out!.metrics.at(0).value, -92);
    assert.equal(v.values.size, 0);
  });

  it('turns an attribute integer past 2^53 into text and drops a non-finite one', () => {
    const { out, v } = run(env([point({ attributes: { big: 1e20, inf: Number.POSITIVE_INFINITY, ok: 3 } })]));
    assert.deepEqual(out!.metrics.at(0).attributes, { big: '100000000000000000000', ok: 3 });
    assert.equal(v.values.get('non_finite'), 1);
  });

  it('reads only plain decimal strings as numbers: "0x10", "0b1", "Infinity" are not numbers', () => {
    for (const s of ['0x10', '0b1', '0o7', 'Infinity', '-Infinity', '1e999', '', ' ', '1_000', '12abc']) assert.equal(toNumber(s), undefined, s);
    assert.equal(toNumber('42'), 42);
    assert.equal(toNumber(' -1.5 '), -1.5);
    assert.equal(toNumber('1e3'), 1000);
    assert.equal(toNumber('.5'), 0.5);
  });

  it('writes a 10,000-deep value as bounded JSON without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) as unknown;
    const text = briefJson(deep, 100);
    assert.ok(text.length <= 101);
    assert.equal(briefJson({ a: [1, 'x', null, true] }), '{"a":[1,"x",null,true]}');
  });
});
