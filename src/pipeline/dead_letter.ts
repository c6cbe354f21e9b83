import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Envelope } from '../model.js';
import type { Codec } from '../encoding/codec.js';
import { hasSecrets, scrub, type Logger } from '../telemetry/logger.js';
import type { Item } from './buffer.js';
import { sinkFileName } from './paths.js';

/**
 * Where what the sink refused for good goes: one JSON line per envelope with the reason, in
 * `<data_dir>/dead_letter/<sink>.jsonl` (see sinkFileName), so that nothing accepted disappears without
 * a trace and an operator can inspect or replay it. An envelope refused at accept is written as it
 * was (`envelope`); an encoded item is decoded back into its wire form's readable shape (`data`, with
 * `encoding` naming the form: OTLP JSON for protobuf), never written as opaque bytes.
 */
export class DeadLetter {
  private readonly file: string;

  constructor(dataDir: string, sink: string, private readonly log: Logger) {
    this.file = join(dataDir, 'dead_letter', `${sinkFileName(sink)}.jsonl`);
  }

  /** An envelope refused before it was encoded. Returns false when the file could not be written. */
  writeEnvelope(envelope: Envelope, reason: string): boolean {
    return this.append([{ reason, envelope }], 1);
  }

  /** Encoded items the sink refused. Returns false when the file could not be written. */
  writeItems(items: readonly Item[], reason: string, codec: Codec): boolean {
    return this.append(
      items.map((it) => {
        let data: unknown;
        try {
          data = codec.readable(it.bytes);
        } catch (err) {
          // Cannot happen for bytes our own encoder wrote; if it does, the bytes are still kept.
          data = { undecodable: String(err), base64: it.bytes.toString('base64') };
        }
        return { reason, received: new Date(it.receivedMs).toISOString(), encoding: codec.name, data };
      }),
      items.length,
    );
  }

  private append(lines: object[], events: number): boolean {
    const at = new Date().toISOString();
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      // The reason is a peer's error text and the data is vendor data: both are scrubbed of secrets.
      const text = lines.map((l) => JSON.stringify({ at, ...l })).join('\n') + '\n';
      appendFileSync(this.file, hasSecrets() ? scrub(text) : text);
      return true;
    } catch (err) {
      this.log.error({ err: String(err), file: this.file, events }, 'cannot write the dead-letter file');
      return false;
    }
  }
}
