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
    for (const l of this.listeners) {
      if (l.source !== '' && l.source !== env.source) continue;
      if (l.res.writableLength > 1024 * 1024) {
        selfMetrics.tapDropped.inc();
        continue;
      }
      line ??= tapLine(env);
      l.res.write(line);
    }
  }

  closeAll(): void {
    for (const l of this.listeners) l.res.end();
    this.listeners.clear();
    this.active = false;
  }
}
