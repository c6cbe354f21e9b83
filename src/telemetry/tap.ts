import type { ServerResponse } from 'node:http';
import type { Envelope } from '../model.js';
import { selfMetrics } from './metrics.js';
import { hasSecrets, scrub } from './logger.js';

function tapLine(env: Envelope): string {
  const line = JSON.stringify(env) + '\n';
  return hasSecrets() ? scrub(line) : line;
}

/**
 * `ws2otel tap`: the mapped envelopes of a source, as they pass, streamed as JSON lines to whoever
 * listens on /tap (like `vector tap`). It reads from the pipeline, never from the sinks, and never
 * slows it: a listener that does not keep up misses lines (counted) rather than holding anything.
 */
export class TapHub {
  private listeners = new Set<{ source: string; res: ServerResponse }>();
  active = false;

  /**
   * @param maxClients tap clients served at once; more are refused (each one costs a JSON line per event)
   * @param maxBufferedBytes per client: a line that would take what waits unsent beyond this is dropped
   *   and counted, so a client that does not read holds at most this much memory, never the data path
   */
  constructor(readonly maxClients = 8, private readonly maxBufferedBytes = 64 * 1024) {}

  get clients(): number {
    return this.listeners.size;
  }

  /** False when maxClients are already served: the caller answers 503. */
  admit(): boolean {
    return this.listeners.size < this.maxClients;
  }

  add(source: string, res: ServerResponse): void {
    const l = { source, res };
    this.listeners.add(l);
    this.active = true;
    res.on('close', () => {
      this.listeners.delete(l);
      this.active = this.listeners.size > 0;
    });
  }

  publish(env: Envelope): void {
    let line: string | undefined;
    let bytes = 0;
    for (const l of this.listeners) {
      if (l.source !== '' && l.source !== env.source) continue;
      // A client already at its bound costs no serialising; otherwise the line goes only if all of it fits.
      if (l.res.writableLength < this.maxBufferedBytes) {
        line ??= tapLine(env);
        bytes ||= Buffer.byteLength(line);
        if (l.res.writableLength + bytes <= this.maxBufferedBytes) {
          l.res.write(line);
          continue;
        }
      }
      selfMetrics.tapDropped.inc();
    }
  }

  closeAll(): void {
    for (const l of this.listeners) l.res.end();
    this.listeners.clear();
    this.active = false;
  }
}
