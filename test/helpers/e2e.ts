import { after, before } from 'node:test';
import { Collector } from './collector.js';
import { DaemonProcess } from './daemon.js';

// The end-to-end fixture the vendor suites share: simulators → ws2otel as a child process → the real
// OpenTelemetry Collector, started before the suite's tests and stopped after them (daemon first, so it
// can drain into a Collector that is still there).

/** Anything a suite starts before the daemon and stops after it: the vendor simulators. */
export interface Started {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

export interface PipelineOptions {
  /** Started in order before the daemon (after the Collector), stopped after it. */
  sims?: Started[];
  /** The daemon's config; called once the Collector and the simulators are up. */
  config: (collector: Collector) => Record<string, unknown>;
  /** Environment for the daemon, for `${VAR}` references in the config (a function: read at start). */
  env?: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
  collector?: Collector;
}

export interface Pipeline {
  readonly collector: Collector;
  /** The running daemon (set once the suite's `before` has run). */
  readonly daemon: DaemonProcess;
}

/** Registers `before`/`after` hooks in the current `describe` for one simulators → ws2otel → Collector pipeline. */
export function pipeline(opts: PipelineOptions): Pipeline {
  const collector = opts.collector ?? new Collector();
  let daemon: DaemonProcess | undefined;
  before(async () => {
    await collector.start();
    for (const s of opts.sims ?? []) await s.start();
    daemon = new DaemonProcess(opts.config(collector), typeof opts.env === 'function' ? opts.env() : opts.env);
    await daemon.start();
  });
  after(async () => {
    await daemon?.stop();
    await Promise.all((opts.sims ?? []).map((s) => s.stop()));
    await collector.stop();
  });
  return {
    collector,
    get daemon(): DaemonProcess {
      if (!daemon) throw new Error('the pipeline has not started: use it inside a test');
      return daemon;
    },
  };
}

/** An `otlp_http` sink entry pointing at the Collector, with small batches so tests see data soon. */
export function otlpSink(collector: Collector, over: { encoding?: 'proto' | 'json'; max_events?: number } = {}): Record<string, unknown> {
  return {
    name: 'collector', type: 'otlp_http', endpoint: collector.endpoint,
    ...(over.encoding ? { encoding: over.encoding } : {}),
    batch: { max_events: over.max_events ?? 20, timeout: '100ms' },
  };
}
