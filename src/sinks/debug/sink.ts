import { debugCodec } from '../../encoding/debug_text.js';
import type { Codec } from '../../encoding/codec.js';
import { writeOut } from '../output.js';
import type { ExportRequest, Sink, SinkFactory } from '../sink.js';
import { debugSinkSchema, type DebugSinkConfig } from './config.js';

/** Prints each batch as lines a person reads (src/encoding/debug_text.ts), like the Collector's debug exporter. */
export class DebugSink implements Sink {
  readonly name: string;
  /** Each envelope as its lines of text. */
  readonly codec: Codec = debugCodec;
  private readonly out: NodeJS.WriteStream;

  constructor(cfg: DebugSinkConfig) {
    this.name = cfg.name;
    this.out = cfg.stream === 'stderr' ? process.stderr : process.stdout;
  }

  async send(req: ExportRequest): Promise<void> {
    const text = Buffer.concat(req.items.map((it) => it.bytes));
    if (text.length) await writeOut(this.out, text);
  }

  async close(): Promise<void> {}
}

export const debugSink: SinkFactory<DebugSinkConfig> = {
  type: 'debug',
  schema: debugSinkSchema,
  usesStdout: (c) => c.stream === 'stdout',
  create: (config) => new DebugSink(config),
};
