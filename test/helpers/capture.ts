import { pino } from 'pino';
import type { Emitter, Envelope } from '../../src/model.js';
import { selfMetrics } from '../../src/telemetry/metrics.js';

export const silentLog = pino({ level: 'silent' });

/** An Emitter that keeps what it gets; `accept = false` makes it ask the source to pause. */
export class CaptureEmitter implements Emitter {
  readonly envelopes: Envelope[] = [];
  accept = true;
  private drain: (() => void)[] = [];

  emit(envelope: Envelope): boolean {
    this.envelopes.push(envelope);
    return this.accept;
  }

  onDrain(listener: () => void): void {
    this.drain.push(listener);
  }

  release(): void {
    this.accept = true;
    const l = this.drain;
    this.drain = [];
    for (const f of l) f();
  }
}

type CounterName = keyof typeof selfMetrics;

/** Current value of a self-metric series (summed over series matching the labels). */
export async function selfMetric(name: CounterName, labels: Record<string, string>): Promise<number> {
  const m = (await selfMetrics[name].get()) as { values: { labels: Record<string, string | number>; value: number; metricName?: string }[] };
  return m.values
    .filter((v) => !v.metricName || !/_(bucket|sum|count)$/.test(v.metricName))
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0);
}
