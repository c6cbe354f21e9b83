import type convict from 'convict';
import { checkRange } from '../config/formats.js';

// The pipeline's settings every sink entry embeds, as the Collector's exporterhelper queue, batch and
// retry blocks: how a sink's envelopes are batched, buffered and retried. The pipeline owns them and
// their checks; a sink's own config only adds its keys (see sinks/sink.ts, commonSinkSchema).

export type WhenFull = 'block' | 'drop_newest' | 'drop_oldest';

export interface BatchSettings {
  max_events: number;
  timeout: number;
}

export interface BufferSettings {
  type: 'memory' | 'disk';
  max_events: number;
  max_bytes: number;
  when_full: WhenFull;
  fsync: 'always' | number;
}

export interface RetrySettings {
  initial_interval: number;
  max_interval: number;
  max_elapsed_time: number;
}

export interface PipelineSettings {
  batch: BatchSettings;
  buffer: BufferSettings;
  retry: RetrySettings;
}

/** Checks of the settings taken together; key paths relative to the sink entry. */
export function checkPipelineSettings(c: PipelineSettings): string[] {
  const problems: string[] = [];
  if (c.buffer.type === 'disk' && c.buffer.when_full === 'drop_oldest') {
    problems.push('buffer.when_full: a disk buffer is append-only: use block or drop_newest');
  }
  // 0 would make every push start an empty batch: a busy loop that starves the event loop.
  checkRange(problems, 'batch.max_events', c.batch.max_events, 1);
  checkRange(problems, 'buffer.max_events', c.buffer.max_events, 1);
  if (c.batch.max_events > c.buffer.max_events) problems.push('batch.max_events: must not exceed buffer.max_events');
  // A retry delay cap of 0 retries a failing sink in a tight loop.
  checkRange(problems, 'retry.initial_interval', c.retry.initial_interval, 10, Infinity, ' ms');
  if (c.retry.max_interval < c.retry.initial_interval) problems.push('retry.max_interval: must not be below retry.initial_interval');
  return problems;
}

export function pipelineSchema(): convict.Schema<PipelineSettings> {
  return {
    batch: {
      max_events: { doc: 'Send when this many envelopes (frames) are waiting', format: 'nat', default: 1000 },
      timeout: { doc: 'Send what is waiting after this long even if the batch is not full', format: 'duration', default: '200ms' as unknown as number },
    },
    buffer: {
      type: { doc: 'memory: fast, lost on a crash; disk: a segmented log in data_dir that survives restarts and crashes', format: ['memory', 'disk'], default: 'memory' },
      max_events: { doc: 'Capacity in envelopes (one per vendor frame, with all its points)', format: 'nat', default: 2000 },
      max_bytes: { doc: 'Capacity in bytes (disk: on disk; memory: the size of the strings and numbers held; 0 = no byte limit for memory)', format: 'nat', default: 256 * 1024 * 1024 },
      when_full: {
        doc: 'block: pause the sources feeding this sink (TCP backpressure to the vendor); drop_newest / drop_oldest (memory only): drop and count',
        format: ['block', 'drop_newest', 'drop_oldest'],
        default: 'block',
      },
      fsync: { doc: 'Disk buffer: "always" (every write) or a period such as 1s (a crash of the process loses nothing either way; power loss up to this period)', format: 'fsync-policy', default: '1s' as unknown as number },
    },
    retry: {
      initial_interval: { doc: 'First retry delay cap (full jitter below it)', format: 'duration', default: '500ms' as unknown as number },
      max_interval: { doc: 'Largest retry delay cap', format: 'duration', default: '30s' as unknown as number },
      max_elapsed_time: { doc: 'Give a batch up after retrying this long (0: never; the buffer holds it meanwhile)', format: 'duration', default: 0 },
    },
  };
}
