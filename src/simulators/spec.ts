import type { ParseArgsConfig } from 'node:util';

export type SimulatorValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What `ws2otel simulate <vendor>` needs of each vendor's simulator: its flags and how to start it. */
export interface SimulatorSpec {
  vendor: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Starts the simulator; returns its URL and a stop function. */
  start(values: SimulatorValues): Promise<{ url: string; stop(): Promise<void> }>;
}

/** A simulator as `ws2otel simulate` runs it. */
interface Simulator {
  readonly url: string;
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A vendor's spec from what differs between vendors: its flags, each given by its default (a string
 * makes a string flag, a boolean a switch, an array a repeatable string flag), listed in that order;
 * `make`, the simulator for the parsed values; `started`, what to say once it runs (its URL unless
 * told). Starting it and stopping it are the same for every vendor.
 */
export function simulatorSpec<T extends Simulator>(
  vendor: string,
  defaults: Record<string, string | boolean | string[]>,
  make: (v: SimulatorValues) => T,
  started: (sim: T) => string = (sim) => sim.url,
): SimulatorSpec {
  const options: SimulatorSpec['options'] = {};
  for (const [name, d] of Object.entries(defaults)) {
    options[name] = typeof d === 'boolean' ? { type: 'boolean', default: d } : Array.isArray(d) ? { type: 'string', multiple: true, default: d } : { type: 'string', default: d };
  }
  return {
    vendor,
    options,
    async start(v) {
      const sim = make(v);
      await sim.start();
      return { url: started(sim), stop: () => sim.stop() };
    },
  };
}
