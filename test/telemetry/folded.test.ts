import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { FoldedCounter, FoldedGauge, foldInto } from '../../src/telemetry/folded.js';
import { sinkMetrics, sourceMetrics } from '../../src/telemetry/metrics.js';

function families() {
  const r = new Registry();
  const c = new Counter({ name: 'frames_total', help: 'h', labelNames: ['source'], registers: [r], collect: foldInto });
  const g = new Gauge({ name: 'held', help: 'h', labelNames: ['sink'], registers: [r], collect: foldInto });
  return { r, c, g };
}

describe('telemetry/folded: hot-path counts kept locally, folded in when the registry is read', () => {
  it('every increment made between two reads is in the second read, and none is counted twice', async () => {
    const { r, c } = families();
    const a = FoldedCounter.of(c, 'mist');
    a.inc();
    a.inc(34);
    assert.match(await r.metrics(), /frames_total\{source="mist"\} 35/);
    a.inc(5);
    assert.match(await r.metrics(), /frames_total\{source="mist"\} 40/);
    assert.match(await r.metrics(), /frames_total\{source="mist"\} 40/, 'a read with nothing new adds nothing');
    assert.equal((await c.get()).values[0]!.value, 40, 'get() folds as /metrics does');
  });

  it('a source made again under the same name (a reload) counts into the same series, the one made before included', async () => {
    const { r, c } = families();
    const before = FoldedCounter.of(c, 'smc');
    before.inc(3);
    const after = FoldedCounter.of(c, 'smc');
    after.inc(4);
    FoldedCounter.of(c, 'other').inc(1);
    const text = await r.metrics();
    assert.match(text, /frames_total\{source="smc"\} 7/);
    assert.match(text, /frames_total\{source="other"\} 1/);
  });

  it('a gauge reads as the last value set before the read', async () => {
    const { r, g } = families();
    const held = FoldedGauge.of(g, 'otlp');
    held.set(10);
    held.set(2);
    assert.match(await r.metrics(), /held\{sink="otlp"\} 2/);
    held.set(0);
    assert.match(await r.metrics(), /held\{sink="otlp"\} 0/);
  });

  it('the families the session and the exporter fold are folded by the daemon\'s own definitions', async () => {
    const r = new Registry();
    const sm = sourceMetrics(r);
    const km = sinkMetrics(r);
    FoldedCounter.of(sm.framesReceived, 's').inc(2);
    FoldedCounter.of(sm.eventsMapped, 's').inc(2);
    FoldedCounter.of(sm.pointsMapped, 's').inc(70);
    FoldedCounter.of(sm.recordsMapped, 's').inc(1);
    FoldedGauge.of(sm.lastFrame, 's').set(1_700_000_000);
    FoldedGauge.of(km.bufferEvents, 'k').set(5);
    FoldedGauge.of(km.bufferBytes, 'k').set(4096);
    const text = await r.metrics();
    for (const line of [
      'ws2otel_source_frames_received_total{source="s"} 2', 'ws2otel_source_events_mapped_total{source="s"} 2',
      'ws2otel_source_points_mapped_total{source="s"} 70', 'ws2otel_source_log_records_mapped_total{source="s"} 1',
      'ws2otel_source_last_frame_timestamp_seconds{source="s"} 1700000000', 'ws2otel_sink_buffer_events{sink="k"} 5',
      'ws2otel_sink_buffer_bytes{sink="k"} 4096',
    ]) assert.ok(text.includes(line), line);
  });
});
