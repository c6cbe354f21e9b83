import type convict from 'convict';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';

/** One `type: file` entry of `sinks:`: OTLP-JSON lines for debugging a mapping. */
export interface FileSinkConfig extends CommonSinkConfig {
  path: string;
}

export function fileSinkSchema(): convict.Schema<FileSinkConfig> {
  return {
    ...commonSinkSchema('file'),
    path: { doc: 'File to append to, or - for stdout', format: 'required-string', default: '-' },
  };
}
