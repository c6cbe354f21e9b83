import type { Server } from 'node:http';
import type { Config } from './config/load.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { startHttpServer, type ReadinessReport } from './telemetry/http_server.js';
import { SinkExporter, createBuffer } from './pipeline/exporter.js';
import { Pipeline } from './pipeline/pipeline.js';
import type { Source } from './sources/source.js';

/** Wires a validated config into running sinks, pipeline and sources, and takes them down in order. */
export class Daemon {
  readonly log: Logger;
  private exporters: SinkExporter[] = [];
  private sources: Source[] = [];
  private server: Server | undefined;
  private stopping: Promise<number> | undefined;

  constructor(private readonly config: Config) {
    const sinks = config.sinks.map(({ factory, config: c }) => ({ factory, c }));
    const stdoutTaken = config.sinks.some((s) => s.factory.type === 'file' && (s.config as unknown as { path: string }).path === '-');
    this.log = createLogger(config.log_level, stdoutTaken);
    for (const { factory, c } of sinks) {
      const log = this.log.child({ sink: c.name });
      this.exporters.push(new SinkExporter(factory.create(c, { log }), c, log, createBuffer(c, config.data_dir, log), config.data_dir));
    }
    const pipeline = new Pipeline(this.exporters);
    for (const { factory, config: c } of config.sources) {
      this.sources.push(factory.create(c, { emitter: pipeline.emitterFor(c.name), log: this.log.child({ source: c.name }) }));
    }
  }

  async start(): Promise<void> {
    this.server = await startHttpServer(this.config.http.address, () => this.readiness(), this.log);
    for (const s of this.sources) s.start();
    this.log.info({ sources: this.sources.map((s) => s.name), sinks: this.exporters.map((e) => e.name) }, 'ws2otel running');
  }

  readiness(): ReadinessReport {
    const components: ReadinessReport['components'] = {};
    for (const s of this.sources) {
      const st = s.status();
      components[`source/${s.name}`] = { ready: st.connected, detail: st.detail };
    }
    for (const e of this.exporters) {
      const st = e.status();
      components[`sink/${e.name}`] = { ready: st.ready, detail: st.detail };
    }
    return { ready: !this.stopping && Object.values(components).every((c) => c.ready), components };
  }

  /** Stop reading, say goodbye to the vendors, flush the sinks within the grace period. Returns events left unsent. */
  stop(): Promise<number> {
    this.stopping ??= (async () => {
      this.log.info({ grace_ms: this.config.shutdown_grace }, 'shutting down: stopping sources, flushing sinks');
      const deadline = Date.now() + this.config.shutdown_grace;
      await Promise.all(this.sources.map((s) => s.stop()));
      const left = await Promise.all(this.exporters.map((e) => e.flush(deadline)));
      await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      const total = left.reduce((a, b) => a + b, 0);
      this.log.info({ unsent: total }, 'ws2otel stopped');
      return total;
    })();
    return this.stopping;
  }
}
