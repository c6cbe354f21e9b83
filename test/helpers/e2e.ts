import { after, before } from 'node:test';
import { Collector } from './collector.js';
import { DaemonProcess } from './daemon.js';
import { simulators } from '../../src/simulators/index.js';

// The end-to-end fixture every e2e suite shares: simulators (and any other peer) → ws2otel as a child
// process → the real OpenTelemetry Collector, started before the suite's tests and stopped after them
// (daemons first, so they can drain into peers that are still there).

/** Anything a suite starts before the daemon and stops after it: the vendor simulators, stand-in peers. */
export interface Started {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

export interface PipelineOptions {
  /** Started in order before the daemon (after the Collector), stopped after it. */
  sims?: Started[];
  /**
   * The daemon's config; called once the Collector and the simulators are up. Without it no daemon
   * starts before the tests: they start their own with `Pipeline.daemonFor`.
   */
  config?: (collector: Collector) => Record<string, unknown>;
  /** Environment for the daemon, for `${VAR}` references in the config (a function: read at start). */
  env?: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
  /** The Collector to run (one with TLS or other receivers), or false when the suite needs none. */
  collector?: Collector | false;
}

export interface Pipeline {
  readonly collector: Collector;
  /** The daemon started from `config` (set once the suite's `before` has run). */
  readonly daemon: DaemonProcess;
  /** Starts one more daemon on `config`; it is stopped with the suite if the test has not stopped it. */
  daemonFor(config: Record<string, unknown>, env?: NodeJS.ProcessEnv): Promise<DaemonProcess>;
}

/** Registers `before`/`after` hooks in the current `describe` for one simulators → ws2otel → Collector pipeline. */
export function pipeline(opts: PipelineOptions): Pipeline {
  const collector = opts.collector === false ? undefined : (opts.collector ?? new Collector());
  const daemons: DaemonProcess[] = [];
  let daemon: DaemonProcess | undefined;
  const fixture: Pipeline = {
    get collector(): Collector {
      if (!collector) throw new Error('this pipeline runs without a Collector');
      return collector;
    },
    get daemon(): DaemonProcess {
      if (!daemon) throw new Error('the pipeline has not started a daemon: use it inside a test, with `config` set');
      return daemon;
    },
    async daemonFor(config, env) {
      const d = new DaemonProcess(config, env);
      daemons.push(d);
      await d.start();
      return d;
    },
  };
  before(async () => {
    await collector?.start();
    for (const s of opts.sims ?? []) await s.start();
    // A suite without a Collector has nothing to pass: its config ignores the argument.
    if (opts.config) daemon = await fixture.daemonFor(opts.config(collector as Collector), typeof opts.env === 'function' ? opts.env() : opts.env);
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    await Promise.all((opts.sims ?? []).map((s) => s.stop()));
    await collector?.stop();
  });
  return fixture;
}

/** An `otlp_http` sink entry pointing at the Collector, with small batches so tests see data soon. */
export function otlpSink(collector: Collector, over: { encoding?: 'proto' | 'json'; max_events?: number } = {}): Record<string, unknown> {
  return {
    name: 'collector', type: 'otlp_http', endpoint: collector.endpoint,
    ...(over.encoding ? { encoding: over.encoding } : {}),
    batch: { max_events: over.max_events ?? 20, timeout: '100ms' },
  };
}

/**
 * A vendor simulator as `ws2otel simulate <vendor>` starts it (its CLI defaults, a free port), with
 * `options` over the defaults (e.g. `{ token: '…', 'interval-ms': '100' }`); `url` once started.
 */
export function simulated(vendor: string, options: Record<string, string> = {}): Started & { readonly url: string } {
  const spec = simulators[vendor];
  if (!spec) throw new Error(`no simulator for ${vendor}`);
  let running: { url: string; stop(): Promise<void> } | undefined;
  return {
    get url(): string {
      if (!running) throw new Error(`the ${vendor} simulator has not started`);
      return running.url;
    },
    async start() {
      const defaults = Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, o.default]));
      running = await spec.start({ ...defaults, port: '0', ...options });
    },
    async stop() {
      await running?.stop();
    },
  };
}
