import { pino } from 'pino';
import { CaptureEmitter, sourceConfig } from '../../helpers/capture.js';
import { smcSource, type SmcSource } from '../../../src/sources/smc/source.js';
import type { SmcConfig } from '../../../src/sources/smc/config.js';
import type { FakeClock } from '../../helpers/clock.js';
import type { SecretScope } from '../../../src/telemetry/secrets.js';

/** A validated `type: smc` config (defaults filled by the real schema) with fast reconnects and the shortest valid auth schedule. */
export function smcConfig(raw: Record<string, unknown>): SmcConfig {
  return sourceConfig(smcSource, { auth_retry: { initial_interval: '1s', max_interval: '1s' }, ...raw });
}

export interface Made {
  source: SmcSource;
  out: CaptureEmitter;
  cfg: SmcConfig;
  /** Every log line the source wrote (debug and up), as JSON text. */
  logs: string[];
}

/** An SMC source on a capture emitter; `clock` drives its slow schedules (auth refused, 429); `secrets` is its secret scope. */
export function makeSource(raw: Record<string, unknown>, opts: { clock?: FakeClock; secrets?: SecretScope } = {}): Made {
  const cfg = smcConfig(raw);
  const out = new CaptureEmitter();
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) });
  const source = smcSource.create(cfg, { emitter: out, log, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.secrets ? { secrets: opts.secrets } : {}) }) as SmcSource;
  return { source, out, cfg, logs };
}
