import type { Server } from 'node:http';
import type { Config, SinkEntry, SourceEntry } from './config/load.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { startHttpServer, type ReadinessReport } from './telemetry/http_server.js';
import { registry, selfMetrics, sinkMetrics, sourceMetrics } from './telemetry/metrics.js';
import { componentSecrets } from './telemetry/secrets.js';
import { TapHub } from './telemetry/tap.js';
import { SinkExporter, createBuffer } from './pipeline/exporter.js';
import { Pipeline } from './pipeline/pipeline.js';
import type { Source } from './sources/source.js';
import { servedHere, type Shard } from './sharding.js';
import { tlsVerificationOff, type TlsSettings } from './net/tls.js';

interface Running<T> {
  /** The component's config as JSON: equal keys mean nothing changed on reload. */
  key: string;
  it: T;
  /** What TLS verification this component turns off ('' when none): warned at start, shown on /readyz. */
  tls: string;
}

function tlsNote(config: object): string {
  const tls = (config as { tls?: TlsSettings & { enabled?: boolean } }).tls;
  return tls?.enabled === false ? '' : tlsVerificationOff(tls);
}

function stdoutTaken(config: Config): boolean {
  return config.sinks.some((s) => s.factory.usesStdout?.(s.config) ?? false);
}

/**
 * Wires a validated config into running sinks, pipeline and sources; applies a new config on reload
 * (unchanged components keep running); takes everything down in order on stop.
 */
export class Daemon {
  readonly log: Logger;
  private sinks = new Map<string, Running<SinkExporter>>();
  private sources = new Map<string, Running<Source>>();
  private readonly tap = new TapHub();
  private readonly pipeline = new Pipeline(this.tap);
  private server: Server | undefined;
  private stopping: Promise<number> | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(private config: Config, private readonly shard: Shard = { index: 0, count: 1 }) {
    this.log = createLogger(config.log_level, stdoutTaken(config));
  }

  private childLog(kind: 'source' | 'sink', name: string, level: string): Logger {
    return this.log.child({ [kind]: name }, level ? { level } : undefined);
  }

  private createSink({ factory, config: c }: SinkEntry): SinkExporter {
    const log = this.childLog('sink', c.name, c.log_level ?? '');
    const sink = factory.create(c, { log, secrets: componentSecrets('sink', c.name) });
    const metrics = sinkMetrics(registry);
    return new SinkExporter(sink, c, log, createBuffer(c, this.config.data_dir, log, sink.codec, metrics), this.config.data_dir, metrics);
  }

  private createSource({ factory, config: c }: SourceEntry): Source {
    return factory.create(c, {
      emitter: this.pipeline.emitterFor(c.name),
      log: this.childLog('source', c.name, c.log_level ?? ''),
      metrics: sourceMetrics(registry),
      secrets: componentSecrets('source', c.name),
    });
  }

  /** Records a started component; one that turns TLS verification off says so now, at warn. */
  private running<T>(config: { name: string }, it: T, kind: 'source' | 'sink'): Running<T> {
    const tls = tlsNote(config);
    if (tls) this.log.warn({ [kind]: config.name }, `${tls}: anyone on the network path can impersonate the peer`);
    return { key: JSON.stringify(config), it, tls };
  }

  private served(config: Config): SourceEntry[] {
    return config.sources.filter((s) => servedHere(s.config.name, this.shard));
  }

  /** Throws an error naming the key (`http.address: …`, `sinks[0].buffer: …`) when a resource cannot be had. */
  async start(): Promise<void> {
    try {
      this.server = await startHttpServer(this.config.http, () => this.readiness(), this.tap, this.log);
    } catch (err) {
      throw new Error(`http.address: cannot listen on ${this.config.http.address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    this.config.sinks.forEach((e, i) => {
      let it: SinkExporter;
      try {
        it = this.createSink(e);
      } catch (err) {
        const where = e.config.buffer.type === 'disk' ? `sinks[${i}].buffer: cannot open the disk buffer under data_dir ${this.config.data_dir}` : `sinks[${i}]: cannot start`;
        throw new Error(`${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      this.sinks.set(e.config.name, this.running(e.config, it, 'sink'));
    });
    this.pipeline.setExporters([...this.sinks.values()].map((r) => r.it));
    for (const e of this.served(this.config)) {
      const source = this.createSource(e);
      this.sources.set(e.config.name, this.running(e.config, source, 'source'));
      source.start();
    }
    this.log.info({
      sources: [...this.sources.keys()], sinks: [...this.sinks.keys()],
      ...(this.shard.count > 1 ? { replica: this.shard.index, replicas: this.shard.count, not_served_here: this.config.sources.length - this.sources.size } : {}),
    }, 'ws2otel running');
  }

  /**
   * Applies a new, already validated config. Unchanged sources and sinks keep running. A changed or
   * removed sink is flushed and closed before its replacement opens (a disk buffer has one owner),
   * and the sources feeding it are stopped meanwhile and restarted after, so nothing they read is lost.
   */
  reload(next: Config): Promise<void> {
    this.reloading = this.reloading.then(() => this.applyReload(next));
    return this.reloading;
  }

  private async applyReload(next: Config): Promise<void> {
    if (this.stopping) return;
    const nextSinks = new Map(next.sinks.map((e) => [e.config.name, e]));
    const nextSources = new Map(this.served(next).map((e) => [e.config.name, e]));
    const changedSinks = [...this.sinks.entries()].filter(([n, r]) => r.key !== JSON.stringify(nextSinks.get(n)?.config)).map(([n]) => n);
    const addedSinks = [...nextSinks.keys()].filter((n) => !this.sinks.has(n));
    const routeChanged = changedSinks.length > 0 || addedSinks.length > 0;
    // A source restarts when its own config changed, or when the sinks it feeds are being replaced.
    const restart = [...this.sources.entries()]
      .filter(([n, r]) => r.key !== JSON.stringify(nextSources.get(n)?.config) || (routeChanged && this.feeds(n, changedSinks, next)))
      .map(([n]) => n);

    await Promise.all(restart.map(async (n) => {
      await this.sources.get(n)!.it.stop();
      this.sources.delete(n);
    }));
    const deadline = Date.now() + next.shutdown_grace;
    await Promise.all(changedSinks.map(async (n) => {
      const lost = await this.sinks.get(n)!.it.flush(deadline);
      if (lost) this.log.error({ sink: n, events: lost }, 'reload: events lost while replacing a memory-buffered sink');
      this.sinks.delete(n);
    }));
    this.config = next;
    if (next.log_level !== this.log.level) this.log.level = next.log_level;
    for (const [n, e] of nextSinks) if (!this.sinks.has(n)) this.sinks.set(n, this.running(e.config, this.createSink(e), 'sink'));
    this.pipeline.setExporters([...this.sinks.values()].map((r) => r.it));
    const started: string[] = [];
    for (const [n, e] of nextSources) {
      if (this.sources.has(n)) continue;
      const source = this.createSource(e);
      this.sources.set(n, this.running(e.config, source, 'source'));
      source.start();
      started.push(n);
    }
    selfMetrics.reloads.labels('applied').inc();
    this.log.info({ restarted_sources: started, replaced_sinks: changedSinks, added_sinks: addedSinks }, 'config reloaded');
  }

  /** Whether the source (by the old or the new routing) feeds one of the given sinks. */
  private feeds(source: string, sinks: string[], next: Config): boolean {
    const reads = (cfg: Config) => cfg.sinks.filter((s) => s.config.inputs.length === 0 || s.config.inputs.includes(source)).map((s) => s.config.name);
    return [...reads(this.config), ...reads(next)].some((n) => sinks.includes(n));
  }

  readiness(): ReadinessReport {
    const components: ReadinessReport['components'] = {};
    const note = (detail: string, tls: string) => (tls ? `${detail}; ${tls}` : detail);
    for (const [name, { it, tls }] of this.sources) {
      const st = it.status();
      components[`source/${name}`] = { ready: st.connected, detail: note(st.detail, tls) };
    }
    for (const [name, { it, tls }] of this.sinks) {
      const st = it.status();
      components[`sink/${name}`] = { ready: st.ready, detail: note(st.detail, tls) };
    }
    return { ready: !this.stopping && Object.values(components).every((c) => c.ready), components };
  }

  /** Stop reading, say goodbye to the vendors, flush the sinks within the grace period. Returns events lost. */
  stop(): Promise<number> {
    this.stopping ??= (async () => {
      await this.reloading.catch(() => undefined);
      this.log.info({ grace_ms: this.config.shutdown_grace }, 'shutting down: stopping sources, flushing sinks');
      const deadline = Date.now() + this.config.shutdown_grace;
      await Promise.all([...this.sources.values()].map((r) => r.it.stop()));
      const lost = await Promise.all([...this.sinks.values()].map((r) => r.it.flush(deadline)));
      this.tap.closeAll();
      await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      const total = lost.reduce((a, b) => a + b, 0);
      this.log.info({ lost: total }, 'ws2otel stopped');
      return total;
    })();
    return this.stopping;
  }
}
