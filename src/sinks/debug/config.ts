import type convict from 'convict';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';

/** One `type: debug` entry of `sinks:`: one readable line per point and per record, for people. */
export interface DebugSinkConfig extends CommonSinkConfig {
  stream: 'stdout' | 'stderr';
}

export function debugSinkSchema(): convict.Schema<DebugSinkConfig> {
  return {
    ...commonSinkSchema('debug'),
    stream: { doc: 'Where the lines go: stdout (the daemon then logs to stderr) or stderr', format: ['stdout', 'stderr'], default: 'stdout' },
  };
}
