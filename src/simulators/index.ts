import type { ParseArgsConfig } from 'node:util';
import { mistSimulatorSpec } from './mist_spec.js';
import { sysadmSimulatorSpec } from './sysadm_spec.js';
import { smcSimulatorSpec } from './smc_spec.js';
import { nxapiSimulatorSpec } from './nxapi_spec.js';
import { genericSimulatorSpec } from './websocket_spec.js';

/** What `ws2otel simulate <vendor>` needs of each vendor's simulator: its flags and how to start it. */
export interface SimulatorSpec {
  vendor: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Starts the simulator; returns its URL and a stop function. */
  start(values: Record<string, string | boolean | (string | boolean)[] | undefined>): Promise<{ url: string; stop(): Promise<void> }>;
}

// The registry: a simulator (src/simulators/<vendor>.ts and its <vendor>_spec.ts) and one line here.
export const simulators: Record<string, SimulatorSpec> = {
  [mistSimulatorSpec.vendor]: mistSimulatorSpec,
  [sysadmSimulatorSpec.vendor]: sysadmSimulatorSpec,
  [smcSimulatorSpec.vendor]: smcSimulatorSpec,
  [nxapiSimulatorSpec.vendor]: nxapiSimulatorSpec,
  [genericSimulatorSpec.vendor]: genericSimulatorSpec,
};
