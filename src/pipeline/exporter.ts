import { join } from 'node:path';
import type { Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { SampledWarn } from '../telemetry/logger.js';
import { selfMetrics } from '../telemetry/metrics.js';
import { PermanentError, RetryableError, type CommonSinkConfig, type Sink } from '../sinks/sink.js';
import { retryWithBackoff } from './backoff.js';
import { BufferFullError, type EnvelopeBuffer } from './buffer.js';
import { MemoryBuffer } from './memory_buffer.js';
import { DiskBuffer } from './disk_buffer.js';
import { DeadLetter } from './dead_letter.js';

export function createBuffer(cfg: CommonSinkConfig, dataDir: string, log: Logger): EnvelopeBuffer {
  const b = cfg.buffer;
  if (b.type === 'memory') return new MemoryBuffer(b.max_events, b.max_bytes);
  return new DiskBuffer({
    dir: join(dataDir, 'buffer', cfg.name.replace(/[^\w.-]/g, '_')),
    maxEvents: b.max_events,
    maxBytes: b.max_bytes,
    fsync: b.fsync,
    log,
    onTruncate: () => selfMetrics.bufferTruncations.labels(cfg.name).inc(),
  });
}

/**
 * One sink's side of the pipeline, as the Collector's exporterhelper: a bounded buffer (memory or
 * disk), batching by count and time, one batch in flight, retries with backoff on retryable errors,
 * permanent rejections to the dead-letter file, every drop counted.
 */
export class SinkExporter {
  readonly name: string;
  private readonly inputs: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private drainListeners: (() => void)[] = [];
  /** when_full: block — envelopes taken from a source after the buffer filled (at most a few frames). */
  private overflow: Envelope[] = [];
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
    private readonly buffer: EnvelopeBuffer,
    dataDir: string,
  ) {
    this.name = sink.name;
    this.inputs = cfg.inputs.length ? new Set(cfg.inputs) : undefined;
    this.warn = new SampledWarn(log);
    this.deadLetter = new DeadLetter(dataDir, this.name, log);
    this.m = {
      sent: selfMetrics.eventsSent.labels(this.name),
      batches: selfMetrics.batchesSent.labels(this.name),
      retryable: selfMetrics.sendFailures.labels(this.name, 'retryable'),
      permanent: selfMetrics.sendFailures.labels(this.name, 'permanent'),
      retries: selfMetrics.retries.labels(this.name),
      droppedFull: selfMetrics.dropped.labels(this.name, 'buffer_full'),
      droppedDisk: selfMetrics.dropped.labels(this.name, 'disk_error'),
      droppedRejected: selfMetrics.dropped.labels(this.name, 'rejected'),
      droppedShutdown: selfMetrics.dropped.labels(this.name, 'shutdown'),
      deadLettered: selfMetrics.deadLettered.labels(this.name),
      buffered: selfMetrics.bufferEvents.labels(this.name),
      bufferedBytes: selfMetrics.bufferBytes.labels(this.name),
      duration: selfMetrics.exportDuration.labels(this.name),
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

  /** Accepts an envelope; false asks the sources to stop reading (when_full: block and no room). */
  offer(env: Envelope): boolean {
    if (this.overflow.length > 0) {
      // Already blocked: keep order behind what waits; the source is pausing.
      this.overflow.push(env);
      return false;
    }
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
          // Frames decoded after the pause was asked are still taken: nothing accepted is dropped.
          this.overflow.push(env);
          return false;
      }
    }
    try {
      this.buffer.push(env);
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      this.warn.warn(`buffer:${err.code}`, { err: err.message, code: err.code, when_full: this.cfg.buffer.when_full }, 'buffer refused an event');
      if (this.blocking) {
        this.overflow.push(env);
        return false;
      }
      this.m.droppedDisk.inc();
      return true;
    }
    this.updateGauges();
    this.schedule();
    return !(this.blocking && this.buffer.full);
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  get blocked(): boolean {
    return this.blocking && (this.buffer.full || this.overflow.length > 0);
  }

  status(): { ready: boolean; buffered: number; detail: string } {
    const full = this.buffer.full || this.overflow.length > 0;
    return { ready: !full, buffered: this.buffer.size, detail: full ? `buffer full (${this.buffer.size})` : this.lastError || 'ok' };
  }


  private updateGauges(): void {
    this.m.buffered.set(this.buffer.size + this.overflow.length);
    this.m.bufferedBytes.set(this.buffer.bytes);
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
    while (this.buffer.pending > 0 && !this.abort.signal.aborted) {
      const batch = this.buffer.take(this.cfg.batch.max_events);
      const ok = await this.deliver(batch);
      if (!ok) {
        this.buffer.unTake(); // aborted during shutdown: the batch stays for the next start
        break;
      }
      this.buffer.ack();
      this.admitOverflow();
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
      this.overflow.shift();
    }
  }

  private notifyDrain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }

  /** True when the batch left the buffer for good (delivered, or refused and dead-lettered). */
  private async deliver(batch: Envelope[]): Promise<boolean> {
    const { initial_interval, max_interval, max_elapsed_time } = this.cfg.retry;
    const started = performance.now();
    try {
      await retryWithBackoff(() => this.sink.send(batch, this.abort.signal), {
        initialMs: initial_interval,
        maxMs: max_interval,
        maxElapsedMs: max_elapsed_time,
        signal: this.abort.signal,
        shouldRetry: (err) => !(err instanceof PermanentError),
        retryAfterMs: (err) => (err instanceof RetryableError ? err.retryAfterMs : undefined),
        onRetry: (err, attempt, delayMs) => {
          this.m.retryable.inc();
          this.m.retries.inc();
          this.lastError = (err as Error).message;
          this.warn.warn('retry', { attempt, delay_ms: Math.round(delayMs), err: this.lastError, events: batch.length }, 'send failed; retrying');
        },
      });
      this.m.duration.observe((performance.now() - started) / 1000);
      this.m.sent.inc(batch.length);
      this.m.batches.inc();
      this.lastError = '';
      return true;
    } catch (err) {
      if (this.abort.signal.aborted) return false;
      // Refused for good, or max_elapsed_time ran out: dead-letter, count, log; never silently.
      this.m.permanent.inc();
      this.m.droppedRejected.inc(batch.length);
      this.lastError = (err as Error).message;
      if (this.deadLetter.write(batch, this.lastError)) this.m.deadLettered.inc(batch.length);
      this.log.error({ err: this.lastError, events: batch.length }, 'batch refused by the sink; written to the dead-letter file');
      return true;
    }
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
    this.buffer.close();
    await this.sink.close();
    return lost;
  }
}
