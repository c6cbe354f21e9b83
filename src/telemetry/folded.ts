import type { Counter, Gauge } from 'prom-client';

// prom-client hashes a child's labels and checks its value on every inc() and set(), 200 ns a call on
// this machine; per frame and per envelope, at thousands a second, that is a few per cent of the main
// thread. These keep the hot path's figures in plain numbers and fold them into their family when the
// registry is read: prom-client runs a family's collect() before every read (/metrics, get()), so
// whoever reads sees every count. A family opts in with `collect: foldInto`.

interface Foldable {
  fold(): void;
}

/** Per family, per label values: one tally, shared by whoever counts under those labels (a source made again on reload). */
const tallies = new WeakMap<object, Map<string, Foldable>>();

function tallyFor<T extends Foldable>(family: object, labels: readonly string[], make: () => T): T {
  let byLabels = tallies.get(family);
  if (!byLabels) tallies.set(family, (byLabels = new Map()));
  const key = labels.join('\u0000');
  let t = byLabels.get(key);
  if (!t) byLabels.set(key, (t = make()));
  return t as T;
}

/** A family's collect(): folds every tally made on it. */
export function foldInto(this: object): void {
  for (const t of tallies.get(this)?.values() ?? []) t.fold();
}

/** A counter child whose increments are summed locally until the registry is read. */
export class FoldedCounter implements Foldable {
  private pending = 0;

  private constructor(private readonly child: Counter.Internal) {}

  static of(family: Counter<string>, ...labels: string[]): FoldedCounter {
    return tallyFor(family, labels, () => new FoldedCounter(family.labels(...labels)));
  }

  inc(n = 1): void {
    this.pending += n;
  }

  fold(): void {
    if (this.pending === 0) return;
    this.child.inc(this.pending);
    this.pending = 0;
  }
}

/** A gauge child whose last value is kept locally until the registry is read. */
export class FoldedGauge implements Foldable {
  private value: number | undefined;

  private constructor(private readonly child: Gauge.Internal<string>) {}

  static of(family: Gauge<string>, ...labels: string[]): FoldedGauge {
    return tallyFor(family, labels, () => new FoldedGauge(family.labels(...labels)));
  }

  set(v: number): void {
    this.value = v;
  }

  fold(): void {
    if (this.value === undefined) return;
    this.child.set(this.value);
    this.value = undefined;
  }
}
