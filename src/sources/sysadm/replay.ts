import { createHash } from 'node:crypto';

/**
 * On every subscribe the sysadm server sends the last cached event of each class again. After a
 * reconnect that replay is not news: this remembers, per class, a hash of the last event emitted (one
 * digest per class, so bounded by the three classes), and says "skip" for the first event of a class
 * after a subscribe when it is that same event. A later identical event is emitted: only the replay
 * window is filtered.
 */
export class ReplayFilter {
  private readonly last = new Map<string, string>();
  /** Classes subscribed whose replay has not arrived yet. */
  private readonly awaiting = new Set<string>();

  /** A subscribe was sent for these classes: the next event of each may be a replay. */
  subscribed(classes: readonly string[]): void {
    for (const c of classes) this.awaiting.add(c);
  }

  /** The connection ended: a replay only ever follows a subscribe on the same connection. */
  reset(): void {
    this.awaiting.clear();
  }

  /** The class's cache was empty (""): its replay came and held nothing. */
  empty(cls: string): void {
    this.awaiting.delete(cls);
  }

  /** True when this event is the replay of the last one emitted for its class (skip it); else remembers it. */
  isReplay(cls: string, args: unknown): boolean {
    const inWindow = this.awaiting.delete(cls);
    const digest = hash(args);
    if (digest === undefined) return false;
    if (inWindow && this.last.get(cls) === digest) return true;
    this.last.set(cls, digest);
    return false;
  }
}

function hash(args: unknown): string | undefined {
  let text: string;
  try {
    text = JSON.stringify(args);
  } catch {
    return undefined; // too deep to serialise: never taken for a replay
  }
  return createHash('sha256').update(text).digest('base64');
}
