import { pino } from 'pino';
import { CaptureEmitter, sourceConfig } from '../../helpers/capture.js';
import { smcSource, type SmcSource } from '../../../src/sources/smc/source.js';
import type { SmcConfig } from '../../../src/sources/smc/config.js';

/** A validated `type: smc` config (defaults filled by the real schema) with fast reconnects and the shortest valid auth schedule. */
export function smcConfig(raw: Record<string, unknown>): SmcConfig {
  return sourceConfig(smcSource, { auth_retry: { initial_interval: '1s', max_interval: '1s' }, ...raw });
}

export function makeSource(raw: Record<string, unknown>): { source: SmcSource; out: CaptureEmitter; cfg: SmcConfig } {
  const cfg = smcConfig(raw);
  const out = new CaptureEmitter();
  const source = smcSource.create(cfg, { emitter: out, log: pino({ level: process.env.SMC_TEST_LOG ?? 'silent' }) }) as SmcSource;
  return { source, out, cfg };
}
