import type convict from 'convict';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';
import { unwritableDir } from '../../config/paths.js';

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

/** The file's directory must exist and take writes (checked at validate and again at start). */
export function checkFileSink(c: FileSinkConfig): string[] {
  if (c.path === '-') return [];
  const why = unwritableDir(dirname(c.path), false);
  if (why) return [`path: cannot write ${c.path} (${why})`];
  if (existsSync(c.path)) {
    try {
      accessSync(c.path, constants.W_OK);
    } catch (err) {
      return [`path: cannot write ${c.path} (${(err as NodeJS.ErrnoException).code})`];
    }
  }
  return [];
}
