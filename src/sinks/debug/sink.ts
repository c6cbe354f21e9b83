import { debugText } from '../../encoding/debug_text.js';
import { writeOut } from '../output.js';
import type { ExportRequest, Sink, SinkFactory } from '../sink.js';
import { debugSinkSchema, type DebugSinkConfig } from './config.js';

/** Prints each batch as lines a person reads (src/encoding/debug_text.ts), like the Collector's debug exporter. */
export class DebugSink implements Sink {
  readonly name: string;
  private readonly out: NodeJS.WriteStream;

  constructor(cfg: DebugSinkConfig) {
    this.name = cfg.name;
    this.out = cfg.stream === 'stderr' ? process.stderr : process.stdout;
  }

  async send(req: ExportRequest): Promise<void> {
    const text = debugText(req.envelopes);
    if (text) await writeOut(this.out, text);
  }

  async close(): Promise<void> {}
}

export const debugSink: SinkFactory<DebugSinkConfig> = {
  type: 'debug',
  schema: debugSinkSchema,
  usesStdout: (c) => c.stream === 'stdout',
  create: (config) => new DebugSink(config),
};
