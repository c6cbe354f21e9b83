import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Envelope } from '../model.js';
import { hasSecrets, scrub, type Logger } from '../telemetry/logger.js';
import { sinkFileName } from './paths.js';

/**
 * Where batches the sink refused for good go: one JSON line per envelope with the reason, in
 * `<data_dir>/dead_letter/<sink>.jsonl` (see sinkFileName), so that nothing accepted disappears without a trace and an
 * operator can inspect or replay it.
 */
export class DeadLetter {
  private readonly file: string;

  constructor(dataDir: string, sink: string, private readonly log: Logger) {
    this.file = join(dataDir, 'dead_letter', `${sinkFileName(sink)}.jsonl`);
  }

  /** Returns false when the file could not be written (then the log line is the only trace). */
  write(batch: readonly Envelope[], reason: string): boolean {
    const at = new Date().toISOString();
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      // The reason is a peer's error text and the envelopes are vendor data: both are scrubbed of secrets.
      const text = batch.map((envelope) => JSON.stringify({ at, reason, envelope })).join('\n') + '\n';
      appendFileSync(this.file, hasSecrets() ? scrub(text) : text);
      return true;
    } catch (err) {
      this.log.error({ err: String(err), file: this.file, events: batch.length }, 'cannot write the dead-letter file');
      return false;
    }
  }
}
