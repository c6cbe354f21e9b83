import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { CaptureEmitter, selfMetric, silentLog } from '../../helpers/capture.js';
import { WebSocketSource } from '../../../src/sources/websocket/source.js';
import type { WebSocketConfig } from '../../../src/sources/websocket/config.js';

// The websocket source's tests: a source built from the example config, on the shared rig (test/helpers/capture.ts).

export const EXAMPLE = fileURLToPath(new URL('../../../../config/examples/websocket.yaml', import.meta.url));

/** The example config (Mist through the generic source), validated as the daemon would, under `name`. */
export function exampleConfig(env: NodeJS.ProcessEnv, name: string): WebSocketConfig {
  const cfg = loadConfig(EXAMPLE, env).sources[0]!.config as WebSocketConfig;
  // The auth schedule scaled down as the reconnects are (its real default is a minute).
  return { ...cfg, name, reconnect: { initial_interval: 50, max_interval: 200 }, auth_retry: { initial_interval: 50, max_interval: 200 } };
}

export function makeSource(cfg: WebSocketConfig): { source: WebSocketSource; capture: CaptureEmitter } {
  const capture = new CaptureEmitter();
  const source = new WebSocketSource(cfg, { emitter: capture, log: silentLog });
  return { source, capture };
}

export const rejected = (source: string, reason: string): Promise<number> => selfMetric('framesRejected', { source, reason });
export const authFailures = (source: string): Promise<number> => selfMetric('authFailures', { source });
