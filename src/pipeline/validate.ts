import type { Attributes, Envelope } from '../model.js';

// What every sink's encoder needs of an envelope, checked once when a sink accepts it, so that an
// envelope no encoder or peer could take is rejected alone instead of failing the batch around it.
// OTLP times are uint64 nanoseconds since the epoch. (Integer points need no check: a value that is not
// an int64 is encoded as a double, model.ts encodesAsInt.)

const MAX_TIME_MS = 2 ** 64 / 1e6 - 1;

function timeProblem(ms: number, what: string): string | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS ? undefined : `${what} ${ms} is not a time OTLP can carry`;
}

function attrProblem(a: Attributes, what: string): string | undefined {
  for (const k in a) {
    const v = a[k];
    if (typeof v === 'number' && !Number.isFinite(v)) return `${what} attribute ${k} is ${v}`;
  }
  return undefined;
}

/** Why no sink could encode this envelope, or undefined when it is fine. */
export function envelopeProblem(env: Envelope): string | undefined {
  const r = attrProblem(env.resource, 'resource');
  if (r) return r;
  const pts = env.metrics;
  for (let i = 0; i < pts.length; i++) {
    const d = pts.desc[i]!;
    const value = pts.value[i]!;
    if (!Number.isFinite(value)) return `metric ${d.name}: value ${value} is not finite`;
    const t = timeProblem(pts.timeMs[i]!, `metric ${d.name}: time`) ?? (d.kind === 'gauge' ? undefined : timeProblem(pts.startTimeMs[i]!, `metric ${d.name}: start time`));
    if (t) return t;
    const a = attrProblem(pts.attributes[i]!, `metric ${d.name}:`);
    if (a) return a;
  }
  for (const l of env.logs) {
    const t = timeProblem(l.timeMs, 'log record: time') ?? timeProblem(l.observedMs, 'log record: observed time');
    if (t) return t;
    const a = attrProblem(l.attributes, 'log record:');
    if (a) return a;
  }
  return undefined;
}
