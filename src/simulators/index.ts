import type { SimulatorSpec } from './spec.js';
import { mistSimulatorSpec } from './mist_spec.js';
import { sysadmSimulatorSpec } from './sysadm_spec.js';
import { smcSimulatorSpec } from './smc_spec.js';
import { nxapiSimulatorSpec } from './nxapi_spec.js';
import { genericSimulatorSpec } from './websocket_spec.js';

export type { SimulatorSpec } from './spec.js';

// The registry: a simulator (src/simulators/<vendor>.ts and its <vendor>_spec.ts, built with spec.ts) and one line here.
export const simulators: Record<string, SimulatorSpec> = {
  [mistSimulatorSpec.vendor]: mistSimulatorSpec,
  [sysadmSimulatorSpec.vendor]: sysadmSimulatorSpec,
  [smcSimulatorSpec.vendor]: smcSimulatorSpec,
  [nxapiSimulatorSpec.vendor]: nxapiSimulatorSpec,
  [genericSimulatorSpec.vendor]: genericSimulatorSpec,
};
