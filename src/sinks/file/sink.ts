import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { encodeLogs, encodeMetrics } from '../../encoding/otlp.js';
import { writeOut } from '../output.js';
import type { ExportRequest, Sink, SinkFactory } from '../sink.js';
import { fileSinkSchema, type FileSinkConfig } from './config.js';

/** Writes each batch as one ExportMetricsServiceRequest line and one ExportLogsServiceRequest line (OTLP JSON). */
export class FileSink implements Sink {
  readonly name: string;
  private readonly toStdout: boolean;
  private readonly out: Writable;

  constructor(cfg: FileSinkConfig) {
    this.name = cfg.name;
    this.toStdout = cfg.path === '-';
    this.out = this.toStdout ? process.stdout : createWriteStream(cfg.path, { flags: 'a' });
  }

  async send(req: ExportRequest): Promise<void> {
    const parts: Uint8Array[] = [];
    const nl = Buffer.from('\n');
    for (const body of [encodeMetrics(req.envelopes, 'json'), encodeLogs(req.envelopes, 'json')]) {
      if (body) parts.push(body, nl);
    }
    if (parts.length === 0) return;
    await writeOut(this.out, Buffer.concat(parts));
  }

  async close(): Promise<void> {
    if (this.toStdout) return;
    await new Promise<void>((resolve) => (this.out as WriteStream).end(() => resolve()));
  }
}

export const fileSink: SinkFactory<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  usesStdout: (c) => c.path === '-',
  create: (config) => new FileSink(config),
};
