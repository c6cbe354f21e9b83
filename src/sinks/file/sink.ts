import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { RetryableError, type ExportRequest, type Sink, type SinkFactory } from '../sink.js';
import { fileSinkSchema, type FileSinkConfig } from './config.js';

/** Writes each batch as one ExportMetricsServiceRequest line and one ExportLogsServiceRequest line (OTLP JSON). */
export class FileSink implements Sink {
  readonly name: string;
  readonly usesStdout: boolean;
  private readonly out: Writable;

  constructor(cfg: FileSinkConfig) {
    this.name = cfg.name;
    this.usesStdout = cfg.path === '-';
    this.out = this.usesStdout ? process.stdout : createWriteStream(cfg.path, { flags: 'a' });
  }

  async send(req: ExportRequest): Promise<void> {
    const parts: Uint8Array[] = [];
    const nl = Buffer.from('\n');
    for (const body of [encodeMetrics(req.envelopes, 'json'), encodeLogs(req.envelopes, 'json')]) {
      if (body) parts.push(body, nl);
    }
    if (parts.length === 0) return;
    await new Promise<void>((resolve, reject) =>
      this.out.write(Buffer.concat(parts), (err) => (err ? reject(new RetryableError(`write: ${err.message}`)) : resolve())),
    );
  }

  async close(): Promise<void> {
    if (this.usesStdout) return;
    await new Promise<void>((resolve) => (this.out as WriteStream).end(() => resolve()));
  }
}

export const fileSink: SinkFactory<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  create: (config) => new FileSink(config),
};
