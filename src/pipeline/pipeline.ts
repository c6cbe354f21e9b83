import type { Emitter, Envelope } from '../model.js';
import type { SinkExporter } from './exporter.js';

/**
 * The fan-out between sources and sinks: each envelope goes to every sink that takes its source.
 * A source is asked to pause while any of *its* sinks is blocked, and resumed when they drain;
 * a blocked sink never stalls a source it does not read.
 */
export class Pipeline {
  constructor(private readonly exporters: readonly SinkExporter[]) {}

  emitterFor(source: string): Emitter {
    const mine = this.exporters.filter((e) => e.wants(source));
    return {
      emit(envelope: Envelope): boolean {
        let keepReading = true;
        for (const e of mine) if (!e.offer(envelope)) keepReading = false;
        return keepReading;
      },
      onDrain(listener: () => void): void {
        const blocked = mine.filter((e) => e.blocked);
        if (blocked.length === 0) return void queueMicrotask(listener);
        let waiting = blocked.length;
        for (const e of blocked) e.onDrain(() => --waiting === 0 && listener());
      },
    };
  }
}
