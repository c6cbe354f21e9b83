import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Envelope } from '../../model.js';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { RetryableError, type Sink, type SinkFactory } from '../sink.js';
import { checkFileSink, fileSinkSchema, type FileSinkConfig } from './config.js';

/** Writes each batch as one ExportMetricsServiceRequest line and one ExportLogsServiceRequest line (OTLP JSON). */
export class FileSink implements Sink {
  readonly name: string;
  readonly usesStdout: boolean;
  private out: Writable | undefined;

  constructor(private readonly cfg: FileSinkConfig) {
    this.name = cfg.name;
    this.usesStdout = cfg.path === '-';
    if (this.usesStdout) this.out = process.stdout;
  }

  // The file is opened at the first write and again after a failed one: an open or write error is a
  // retryable send failure (the directory may come back), never an uncaught exception or a dead stream.
  private stream(): Writable {
    if (this.out && !this.out.destroyed) return this.out;
    const out = createWriteStream(this.cfg.path, { flags: 'a' });
    out.on('error', () => out.destroy());
    return (this.out = out);
  }

  async send(batch: readonly Envelope[]): Promise<void> {
    const parts: Uint8Array[] = [];
    const nl = Buffer.from('\n');
    for (const body of [encodeMetrics(batch, 'json'), encodeLogs(batch, 'json')]) {
      if (body) parts.push(body, nl);
    }
    if (parts.length === 0) return;
    const out = this.stream();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new RetryableError(`write ${this.cfg.path}: ${err.message}`));
      out.once('error', onError);
      out.write(Buffer.concat(parts), (err) => {
        out.off('error', onError);
        if (err) onError(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const out = this.out;
    if (this.usesStdout || !out || out.destroyed) return;
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}

export const fileSink: SinkFactory<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  check: checkFileSink,
  create: (config) => new FileSink(config),
};
