import type { SlowClock } from '../../src/sources/session.js';

/**
 * A fake clock for the slow schedules (auth refused, 429, lockout guard): `sleep` records the wait,
 * moves `now` forward by it and returns at once (after a few real ms, so a retry loop does not spin).
 * What a test asserts is the waits asked for, never how long anything took.
 */
export class FakeClock implements SlowClock {
  t = Date.UTC(2026, 0, 1);
  readonly sleeps: number[] = [];

  now = (): number => this.t;

  sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
    signal.throwIfAborted();
    this.sleeps.push(ms);
    this.t += ms;
    await new Promise((r) => setTimeout(r, 5));
    signal.throwIfAborted();
  };
}

/**
 * A clock whose slow waits last until the test releases them: a test sees the state during the wait
 * (a subscription shown failed, a source shown blind) as long as it likes, and asserts the waits asked for.
 */
export class HeldClock implements SlowClock {
  t = Date.UTC(2026, 0, 1);
  readonly sleeps: number[] = [];
  private held: { ms: number; resolve: () => void }[] = [];

  now = (): number => this.t;

  sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    signal.throwIfAborted();
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      const entry = { ms, resolve };
      this.held.push(entry);
      signal.addEventListener('abort', () => {
        this.held = this.held.filter((h) => h !== entry);
        reject(signal.reason);
      }, { once: true });
    });
  };

  /** Ends every wait now held, moving `now` forward by the longest. */
  release(): void {
    const held = this.held;
    this.held = [];
    this.t += Math.max(0, ...held.map((h) => h.ms));
    for (const h of held) h.resolve();
  }
}
