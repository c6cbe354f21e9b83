import type { Emitter, Envelope } from '../model.js';
import type { TapHub } from '../telemetry/tap.js';
import type { SinkExporter } from './exporter.js';

/**
 * The fan-out between sources and sinks: each envelope goes to every sink that takes its source.
 * A source is asked to pause while any of *its* sinks is blocked, and resumed when they drain;
 * a blocked sink never stalls a source it does not read. The sink set can change on reload.
 */
export class Pipeline {
  private exporters: readonly SinkExporter[] = [];
  private routes = new Map<string, SinkExporter[]>();

  constructor(private readonly tap?: TapHub) {}

  setExporters(exporters: readonly SinkExporter[]): void {
    this.exporters = exporters;
    this.routes.clear();
  }

  private route(source: string): SinkExporter[] {
    let r = this.routes.get(source);
    if (!r) this.routes.set(source, (r = this.exporters.filter((e) => e.wants(source))));
    return r;
  }

  emitterFor(source: string): Emitter {
    return {
      emit: (envelope: Envelope): boolean => {
        if (this.tap?.active) this.tap.publish(envelope);
        let keepReading = true;
        for (const e of this.route(source)) if (!e.offer(envelope)) keepReading = false;
        return keepReading;
      },
      onDrain: (listener: () => void): void => {
        const blocked = this.route(source).filter((e) => e.blocked);
        if (blocked.length === 0) return void queueMicrotask(listener);
        let waiting = blocked.length;
        for (const e of blocked) e.onDrain(() => --waiting === 0 && listener());
      },
    };
  }
}
