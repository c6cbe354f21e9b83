import type { SlowClock } from '../../src/sources/ws_session.js';

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
