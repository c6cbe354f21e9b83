import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { SampledWarn } from '../telemetry/logger.js';
import { registry, sinkMetrics, type SinkMetrics } from '../telemetry/metrics.js';
import { FoldedGauge } from '../telemetry/folded.js';
import { PermanentError, RetryableError, type CommonSinkConfig, type Sink } from '../sinks/sink.js';
import { ExportRequest } from './request.js';
import { envelopeProblem } from './validate.js';
import { sinkFileName } from './paths.js';
import { retryWithBackoff } from './backoff.js';
import { BufferFullError, type Item, type ItemBuffer } from './buffer.js';
import { MemoryBuffer } from './memory_buffer.js';
import { DiskBuffer } from './disk_buffer.js';
import { DeadLetter } from './dead_letter.js';
import type { Codec } from '../encoding/codec.js';

/** The sink's buffer; `codec` migrates what an older ws2otel left in a disk buffer (without it, such a directory is refused). */
/** `metrics`: the exporter's metric families, from the registry the daemon serves (a test may pass its own). */
export function createBuffer(cfg: CommonSinkConfig, dataDir: string, log: Logger, codec?: Codec, metrics: SinkMetrics = sinkMetrics(registry)): ItemBuffer {
  const b = cfg.buffer;
  if (b.type === 'memory') return new MemoryBuffer(b.max_events, b.max_bytes);
  return new DiskBuffer({
    dir: join(dataDir, 'buffer', sinkFileName(cfg.name)),
    maxEvents: b.max_events,
    maxBytes: b.max_bytes,
    fsync: b.fsync,
    log,
    ...(codec ? { upgrade: (env: Envelope) => ({ bytes: codec.encode(env), receivedMs: env.receivedMs }) } : {}),
    onTruncate: (bytes) => {
      metrics.bufferTruncations.labels(cfg.name).inc();
      metrics.bufferCorruptBytes.labels(cfg.name).inc(bytes);
    },
  });
}

/** How long envelopes waiting for a buffer that refused a write (disk full) wait before the next try. */
const ADMIT_RETRY_MS = 500;

/**
 * One sink's side of the pipeline, as the Collector's exporterhelper: each accepted envelope encoded
 * once by the sink's codec (an envelope it cannot encode is rejected alone), a bounded buffer of those
 * bytes (memory or disk), batching by count and time, one request in flight, retries with backoff on
 * retryable errors, a permanently refused request split down to the items the peer refuses, those to
 * the dead-letter file, every drop counted.
 */
export class SinkExporter {
  readonly name: string;
  private readonly inputs: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private drainListeners: (() => void)[] = [];
  /**
   * when_full: block — envelopes taken after the buffer filled, from frames already being decoded when
   * the sources were asked to pause. At most `batch.max_events` (a frame yields far fewer); they count
   * in the buffer gauges and in readiness, and more are refused and counted (reason buffer_full).
   */
  private overflow: Item[] = [];
  private overflowBytes = 0;
  private readonly overflowMax: number;
  /** Retries moving the overflow in while the buffer refuses writes (a full disk) and nothing is sent. */
  private admitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private flushing = false;
  /** The batch timer fired while a batch was in flight. */
  private due = false;
  private lastError = '';
  private readonly warn: SampledWarn;
  private readonly deadLetter: DeadLetter;
  private readonly m;

  constructor(
    private readonly sink: Sink,
    private readonly cfg: CommonSinkConfig,
    private readonly log: Logger,
    private readonly buffer: ItemBuffer,
    dataDir: string,
    metrics: SinkMetrics = sinkMetrics(registry),
  ) {
    this.name = sink.name;
    this.inputs = cfg.inputs.length ? new Set(cfg.inputs) : undefined;
    this.warn = new SampledWarn(log);
    this.deadLetter = new DeadLetter(dataDir, this.name, log);
    this.overflowMax = Math.max(1, cfg.batch.max_events);
    this.m = {
      sent: metrics.eventsSent.labels(this.name),
      batches: metrics.batchesSent.labels(this.name),
      retryable: metrics.sendFailures.labels(this.name, 'retryable'),
      permanent: metrics.sendFailures.labels(this.name, 'permanent'),
      retries: metrics.retries.labels(this.name),
      droppedFull: metrics.dropped.labels(this.name, 'buffer_full'),
      droppedDisk: metrics.dropped.labels(this.name, 'disk_error'),
      droppedRejected: metrics.dropped.labels(this.name, 'rejected'),
      droppedInvalid: metrics.dropped.labels(this.name, 'invalid'),
      latency: metrics.eventLatency.labels(this.name),
      droppedShutdown: metrics.dropped.labels(this.name, 'shutdown'),
      deadLettered: metrics.deadLettered.labels(this.name),
      buffered: FoldedGauge.of(metrics.bufferEvents, this.name),
      bufferedBytes: FoldedGauge.of(metrics.bufferBytes, this.name),
      duration: metrics.exportDuration.labels(this.name),
      splits: metrics.requestSplits.labels(this.name),
    };
    this.updateGauges();
    if (buffer.size > 0) this.schedule(); // replay what a disk buffer kept across a restart
  }

  wants(source: string): boolean {
    return !this.inputs || this.inputs.has(source);
  }

  private get blocking(): boolean {
    return this.cfg.buffer.when_full === 'block';
  }

  /** Rejected alone, before it can fail a batch of good envelopes: counted and dead-lettered as it came. */
  private invalid(env: Envelope, problem: string): boolean {
    this.m.droppedInvalid.inc();
    this.warn.warn('invalid', { err: problem }, 'envelope rejected: the sink cannot encode it; written to the dead-letter file');
    if (this.deadLetter.writeEnvelope(env, `invalid: ${problem}`)) this.m.deadLettered.inc();
    return !this.blocked;
  }

  /**
   * Accepts an envelope: encodes it once into the sink's wire form and buffers those bytes. False asks
   * the sources to stop reading (when_full: block and no room).
   */
  offer(env: Envelope): boolean {
    const problem = envelopeProblem(env);
    if (problem) return this.invalid(env, problem);
    if (this.overflow.length === 0 && this.buffer.full && this.cfg.buffer.when_full === 'drop_newest') {
      this.m.droppedFull.inc(); // dropped before the work of encoding it
      return true;
    }
    let item: Item;
    try {
      item = { bytes: this.sink.codec.encode(env), receivedMs: env.receivedMs };
    } catch (err) {
      return this.invalid(env, (err as Error).message);
    }
    if (this.overflow.length > 0) return this.hold(item); // already blocked: keep order behind what waits
    if (this.buffer.full) {
      switch (this.cfg.buffer.when_full) {
        case 'drop_newest':
          this.m.droppedFull.inc();
          return true;
        case 'drop_oldest':
          if (this.buffer.dropOldest()) this.m.droppedFull.inc();
          else {
            this.m.droppedFull.inc();
            return true;
          }
          break;
        case 'block':
          return this.hold(item);
      }
    }
    try {
      this.buffer.push(item);
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      this.warn.warn(`buffer:${err.code}`, { err: err.message, code: err.code, when_full: this.cfg.buffer.when_full }, 'buffer refused an event');
      if (this.blocking) return this.hold(item);
      this.m.droppedDisk.inc();
      return true;
    }
    this.updateGauges();
    this.schedule();
    return !(this.blocking && this.buffer.full);
  }

  /** when_full: block and no room: the item waits in the bounded overflow, or is refused, counted. */
  private hold(item: Item): false {
    if (this.overflow.length >= this.overflowMax) {
      this.m.droppedFull.inc();
      this.warn.warn('overflow', { held: this.buffer.size + this.overflow.length, overflow_max: this.overflowMax }, 'buffer and overflow full while the sources pause; envelope dropped');
      return false;
    }
    this.overflow.push(item);
    this.overflowBytes += item.bytes.length;
    this.updateGauges();
    this.armAdmit();
    return false;
  }

  /** With nothing in the buffer to send, only a timer can find out that the medium takes writes again. */
  private armAdmit(): void {
    if (this.admitTimer || this.closed || this.buffer.size > 0) return;
    this.admitTimer = setTimeout(() => {
      this.admitTimer = undefined;
      this.admitOverflow();
      this.updateGauges();
      if (this.overflow.length > 0) this.armAdmit();
      else if (!this.blocked) this.notifyDrain();
      this.schedule();
    }, ADMIT_RETRY_MS);
    this.admitTimer.unref();
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  get blocked(): boolean {
    return this.blocking && (this.buffer.full || this.overflow.length > 0);
  }

  status(): { ready: boolean; buffered: number; detail: string } {
    const full = this.buffer.full || this.overflow.length > 0;
    const waiting = this.overflow.length ? `, ${this.overflow.length} waiting` : '';
    const why = this.lastError ? `: ${this.lastError}` : '';
    return { ready: !full, buffered: this.buffer.size, detail: full ? `buffer full (${this.buffer.size} held${waiting})${why}` : this.lastError || 'ok' };
  }


  private updateGauges(): void {
    this.m.buffered.set(this.buffer.size + this.overflow.length);
    this.m.bufferedBytes.set(this.buffer.bytes + this.overflowBytes);
  }

  /**
   * Starts a batch when max_events wait, or arms the batch timer for what waits. The timer also runs
   * while a batch is in flight: when it fires then, the next batch goes as soon as the current one is
   * done, so an envelope waits at most the timeout plus one send, not a fresh timeout after it.
   */
  private schedule(): void {
    if (this.closed || this.buffer.pending === 0) return;
    if (!this.sending && this.buffer.pending >= this.cfg.batch.max_events) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.sending = this.sendNext();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.sending) this.due = true;
      else if (this.buffer.pending > 0) this.sending = this.sendNext();
    }, this.cfg.batch.timeout);
  }

  private async sendNext(): Promise<void> {
    await undefined; // the caller stores this promise in `sending` before the loop below can clear it
    while (this.buffer.pending > 0 && !this.abort.signal.aborted) {
      const ok = await this.deliver(new ExportRequest(this.buffer.take(this.cfg.batch.max_events)));
      if (!ok) {
        this.buffer.unTake(); // aborted during shutdown: the batch stays for the next start
        break;
      }
      this.buffer.ack();
      this.admitOverflow();
      if (this.overflow.length > 0) this.armAdmit();
      this.updateGauges();
      if (!this.blocked) this.notifyDrain();
      if (this.buffer.pending < this.cfg.batch.max_events && !this.flushing && !this.due) break;
      this.due = false;
    }
    this.sending = undefined;
    if (!this.abort.signal.aborted) this.schedule();
  }

  /** Moves envelopes that waited while the buffer was full into the room an ack made. */
  private admitOverflow(): void {
    while (this.overflow.length > 0 && !this.buffer.full) {
      try {
        this.buffer.push(this.overflow[0]!);
      } catch (err) {
        if (err instanceof BufferFullError) return;
        throw err;
      }
      this.overflowBytes -= this.overflow.shift()!.bytes.length;
    }
    if (this.overflow.length === 0) this.overflowBytes = 0;
  }

  private notifyDrain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }

  /**
   * True when the request left the buffer for good: delivered, or refused and dead-lettered (only the
   * envelopes the peer refuses, when it can tell or when splitting finds them). False when aborted.
   */
  private async deliver(req: ExportRequest): Promise<boolean> {
    const { initial_interval, max_interval, max_elapsed_time } = this.cfg.retry;
    const started = performance.now();
    try {
      await retryWithBackoff(() => this.sink.send(req, this.abort.signal), {
        initialMs: initial_interval,
        maxMs: max_interval,
        maxElapsedMs: max_elapsed_time,
        signal: this.abort.signal,
        shouldRetry: (err) => !refusal(err),
        retryAfterMs: (err) => (err instanceof RetryableError ? err.retryAfterMs : undefined),
        onRetry: (err, attempt, delayMs) => {
          this.m.retryable.inc();
          this.m.retries.inc();
          this.lastError = (err as Error).message;
          this.warn.warn('retry', { attempt, delay_ms: Math.round(delayMs), err: this.lastError, events: req.size }, 'send failed; retrying');
        },
      });
      this.m.duration.observe((performance.now() - started) / 1000);
      this.delivered(req.items);
      this.lastError = '';
      return true;
    } catch (err) {
      if (this.abort.signal.aborted) return false;
      this.lastError = (err as Error).message;
      const refused = refusal(err);
      if (refused instanceof PermanentError && refused.rejected) {
        // The sink delivered everything but these.
        const rejected = new Set(refused.rejected);
        this.delivered(req.items.filter((e) => !rejected.has(e)));
        this.reject(refused.rejected, this.lastError);
        return true;
      }
      const halves = refused && (!(refused instanceof PermanentError) || refused.splittable) ? req.split() : undefined;
      if (halves) {
        // Find the envelopes the peer refuses: each half goes on its own (with its own retries).
        this.m.splits.inc();
        this.log.debug({ err: this.lastError, events: req.size }, 'request refused; splitting it to find the envelopes the sink refuses');
        for (const half of halves) if (!(await this.deliver(half))) return false;
        return true;
      }
      // Refused for good, or max_elapsed_time ran out: dead-letter, count, log; never silently.
      this.reject(req.items, this.lastError);
      return true;
    }
  }

  private delivered(items: readonly Item[]): void {
    if (items.length === 0) return;
    this.m.sent.inc(items.length);
    this.m.batches.inc();
    // receivedMs is when the frame arrived: this is the latency ws2otel added, buffering included.
    const now = Date.now();
    for (const e of items) this.m.latency.observe(Math.max(0, now - e.receivedMs) / 1000);
  }

  private reject(items: readonly Item[], reason: string): void {
    this.m.permanent.inc();
    this.m.droppedRejected.inc(items.length);
    if (this.deadLetter.writeItems(items, reason, this.sink.codec)) this.m.deadLettered.inc(items.length);
    this.log.error({ err: reason, events: items.length }, 'envelopes refused by the sink; written to the dead-letter file');
  }

  /**
   * Sends what is buffered, giving up at the deadline. Returns how many envelopes were lost: what a
   * disk buffer still holds is kept for the next start and is not lost.
   */
  async flush(deadlineMs: number): Promise<number> {
    this.flushing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = setTimeout(() => this.abort.abort(new Error('shutdown grace period over')), Math.max(0, deadlineMs - Date.now()));
    // A sink that ignores the abort signal must not hold the process past its grace period.
    const aborted = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      while ((this.buffer.size > 0 || this.overflow.length > 0) && !this.abort.signal.aborted) {
        this.admitOverflow();
        if (!this.sending && this.buffer.pending === 0) {
          // Only the overflow is left and the buffer refuses it (disk full): wait, letting the grace timer run.
          await Promise.race([sleep(Math.min(ADMIT_RETRY_MS, 100)), aborted]);
          continue;
        }
        this.sending ??= this.sendNext();
        await Promise.race([this.sending, aborted]);
      }
    } finally {
      clearTimeout(deadline);
    }
    this.admitOverflow();
    const kept = this.cfg.buffer.type === 'disk' ? this.buffer.size : 0;
    const lost = (this.cfg.buffer.type === 'disk' ? 0 : this.buffer.size) + this.overflow.length;
    if (kept > 0) this.log.warn({ events: kept }, 'grace period over: events stay in the disk buffer and are sent after the next start');
    if (lost > 0) {
      this.m.droppedShutdown.inc(lost);
      this.log.error({ events: lost }, 'grace period over with events in memory; they are lost (a disk buffer keeps them)');
    }
    this.closed = true;
    clearTimeout(this.admitTimer);
    this.buffer.close();
    await this.sink.close();
    return lost;
  }
}

/** The error when retrying cannot help: the sink's refusal, or a throw of its encoder (a bug or a value it cannot carry). */
function refusal(err: unknown): PermanentError | TypeError | RangeError | undefined {
  return err instanceof PermanentError || err instanceof TypeError || err instanceof RangeError ? err : undefined;
}
