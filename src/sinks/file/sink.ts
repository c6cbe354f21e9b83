import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { otlpBodies, otlpCodec } from '../../encoding/otlp.js';
import type { Codec } from '../../encoding/codec.js';
import { writeOut } from '../output.js';
import type { ExportRequest, Sink, SinkFactory } from '../sink.js';
import { checkFileSink, fileSinkSchema, type FileSinkConfig } from './config.js';

/** Writes each batch as one ExportMetricsServiceRequest line and one ExportLogsServiceRequest line (OTLP JSON). */
export class FileSink implements Sink {
  readonly name: string;
  /** Each envelope as its ResourceMetrics and ResourceLogs JSON elements. */
  readonly codec: Codec = otlpCodec('json');
  private readonly toStdout: boolean;
  private out: Writable | undefined;

  constructor(private readonly cfg: FileSinkConfig) {
    this.name = cfg.name;
    this.toStdout = cfg.path === '-';
    if (this.toStdout) this.out = process.stdout;
  }

  // The file is opened at the first write and again after a failed one: an open or write error is a
  // retryable send failure (the directory may come back), never an uncaught exception or a dead stream.
  private stream(): Writable {
    if (this.out && !this.out.destroyed) return this.out;
    const out = createWriteStream(this.cfg.path, { flags: 'a' });
    out.on('error', () => out.destroy());
    return (this.out = out);
  }

  async send(req: ExportRequest): Promise<void> {
    const parts: Uint8Array[] = [];
    const nl = Buffer.from('\n');
    const { metrics, logs } = otlpBodies(req.items, 'json');
    for (const body of [metrics, logs]) {
      if (body) parts.push(body, nl);
    }
    if (parts.length === 0) return;
    await writeOut(this.stream(), Buffer.concat(parts), this.cfg.path);
  }

  async close(): Promise<void> {
    const out = this.out;
    if (this.toStdout || !out || out.destroyed) return;
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}

export const fileSink: SinkFactory<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  check: checkFileSink,
  usesStdout: (c) => c.path === '-',
  create: (config) => new FileSink(config),
};
