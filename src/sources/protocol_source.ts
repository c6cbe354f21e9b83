import { Points, type Attributes, type Envelope, type LogRecord, type MetricDesc } from '../model.js';
import { registry, sourceMetrics } from '../telemetry/metrics.js';
import { componentSecrets } from '../telemetry/secrets.js';
import { Severity } from '../mapping/severity.js';
import { VERSION } from '../version.js';
import type { Protocol } from './protocol.js';
import { Session, realClock, type BlindCause, type SessionContext } from './session.js';
import type { CommonSourceConfig, Source, SourceContext, SourceStatus } from './source.js';

/** How often the up gauge is emitted besides on every change (`up_interval`). */
export const DEFAULT_UP_INTERVAL_MS = 60_000;

/** The gauge a source emits through the sinks: 1 while it sees its vendor, 0 while it is blind. */
export const UP_METRIC = 'ws2otel.source.up';
/** The event name of the log record that says a blind stretch ended: when, how long, why. */
export const GAP_EVENT = 'ws2otel.source.gap';

const SCOPE = { name: 'ws2otel/source', version: VERSION };

/** A context with every default filled in: the daemon's /metrics registry, the source's secret scope, the real clock. */
export function sourceContext(cfg: { name: string }, ctx: SourceContext): Required<SourceContext> {
  return {
    emitter: ctx.emitter,
    log: ctx.log,
    clock: ctx.clock ?? realClock,
    metrics: ctx.metrics ?? sourceMetrics(registry),
    secrets: ctx.secrets ?? componentSecrets('source', cfg.name),
  };
}

interface Gap {
  startMs: number;
  /** Every cause seen during the gap, in order (closed, then connecting, then auth …). */
  causes: BlindCause[];
}

/** The up gauge's metric: made once, shared by every point. */
const UP: MetricDesc = {
  name: UP_METRIC, unit: '1', kind: 'gauge', int: true,
  description: '1 while ws2otel holds a live, subscribed session to this source; 0 while it is blind',
};

/**
 * A source made of sessions, one per socket, sharing one name (SMC has two sockets sharing a login;
 * the others one). It combines their status for /readyz, sums their subscriptions for the self-metrics,
 * and tells the data when it is blind: the `ws2otel.source.up` gauge (on every change and every
 * `up_interval`) and, when a blind stretch ends, one `ws2otel.source.gap` log record with its start,
 * end, duration and cause, so a dashboard can tell "ws2otel saw nothing" from "the device was down".
 */
export class ProtocolSource implements Source {
  readonly name: string;
  readonly sessions: Session[];
  private readonly ctx: Required<SourceContext>;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the source has been up once: the first connect is not a gap (nothing was being watched yet). */
  private wasUp = false;
  private up: boolean | undefined;
  private gap: Gap | undefined;
  private stopped = false;

  constructor(private readonly cfg: CommonSourceConfig, ctx: SourceContext, readonly protocols: Protocol[]) {
    if (!protocols.length) throw new Error(`source ${cfg.name}: no protocol`);
    this.name = cfg.name;
    this.ctx = sourceContext(cfg, ctx);
    const sctx: SessionContext = { emitter: this.ctx.emitter, log: this.ctx.log, metrics: this.ctx.metrics, clock: this.ctx.clock };
    this.sessions = protocols.map((p) => new Session(cfg.name, cfg, p, sctx));
    this.ctx.metrics.connected.labels(this.name).set(0);
    for (const s of this.sessions) s.onChange(() => this.changed());
  }

  start(): void {
    for (const s of this.sessions) s.start();
    this.timer ??= setInterval(() => this.emitUp(), this.cfg.up_interval ?? DEFAULT_UP_INTERVAL_MS);
    this.timer.unref();
    this.changed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.sessions.map((s) => s.stop()));
    this.ctx.metrics.connected.labels(this.name).set(0);
  }

  status(): SourceStatus {
    const all = this.sessions.map((s) => ({ s, st: s.status() }));
    const connected = all.every(({ st }) => st.connected);
    const problem = all.find(({ st }) => st.problem)?.st.problem;
    const detail = all.length === 1
      ? all[0]!.st.detail
      : all.map(({ s, st }) => `${s.protocol.label ?? 'socket'}: ${st.detail}`).join('; ');
    return { connected, detail, ...(problem ? { problem } : {}) };
  }

  /** Why the source is blind now ('' when every socket sees its vendor). */
  blind(): BlindCause {
    for (const s of this.sessions) {
      const c = s.blind();
      if (c) return c;
    }
    return '';
  }

  private changed(): void {
    if (this.stopped) return;
    const m = this.ctx.metrics;
    const counts = { active: 0, failed: 0, pending: 0 };
    for (const s of this.sessions) for (const sub of s.subscriptions()) counts[sub.state]++;
    for (const [state, n] of Object.entries(counts)) m.subscriptions.labels(this.name, state).set(n);
    m.connected.labels(this.name).set(this.sessions.every((s) => s.isEstablished()) ? 1 : 0);

    const cause = this.blind();
    const now = this.ctx.clock.now();
    if (cause && this.wasUp) {
      if (!this.gap) this.gap = { startMs: now, causes: [cause] };
      else if (this.gap.causes.at(-1) !== cause) this.gap.causes.push(cause);
    }
    const up = cause === '';
    if (up === this.up) return;
    this.up = up;
    if (up) {
      this.wasUp = true;
      if (this.gap) this.emitGap(this.gap, now);
      this.gap = undefined;
    }
    this.emitUp();
  }

  private resource(): Attributes {
    return { ...this.protocols[0]!.resource(), 'ws2otel.source.name': this.name };
  }

  private emitUp(): void {
    if (this.stopped || this.up === undefined) return;
    const now = this.ctx.clock.now();
    const metrics = new Points();
    metrics.add(UP, this.up ? 1 : 0, now, now, {});
    this.send({ source: this.name, resource: this.resource(), scope: SCOPE, metrics, logs: [], receivedMs: now });
  }

  private emitGap(gap: Gap, endMs: number): void {
    const seconds = Math.max(0, endMs - gap.startMs) / 1000;
    const cause = gap.causes[0]!;
    const record: LogRecord = {
      timeMs: endMs, observedMs: endMs,
      severityNumber: Severity.WARN, severityText: 'WARN',
      body: `ws2otel could not see source ${this.name} for ${seconds.toFixed(1)} s (${gap.causes.join(', ')})`,
      eventName: GAP_EVENT,
      attributes: {
        'ws2otel.gap.start': new Date(gap.startMs).toISOString(),
        'ws2otel.gap.end': new Date(endMs).toISOString(),
        'ws2otel.gap.duration': seconds,
        'ws2otel.gap.cause': cause,
        'ws2otel.gap.causes': gap.causes.join(','),
      },
    };
    this.send({ source: this.name, resource: this.resource(), scope: SCOPE, metrics: new Points(), logs: [record], receivedMs: endMs });
  }

  private send(envelope: Envelope): void {
    // Our own signal: a full pipeline drops nothing here (the emitter buffers), and a source never pauses for it.
    this.ctx.emitter.emit(envelope);
  }
}
