import type { Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { selfMetrics } from '../telemetry/metrics.js';
import { PermanentError, RetryableError, type CommonSinkConfig, type Sink } from '../sinks/sink.js';
import { retryWithBackoff } from './backoff.js';
import { MemoryBuffer } from './memory_buffer.js';

/**
 * One sink's side of the pipeline, as the Collector's exporterhelper: a bounded buffer, batching by
 * count and time, one batch in flight, retries with backoff on retryable errors, counted drops.
 */
export class SinkExporter {
  readonly name: string;
  private readonly buffer: MemoryBuffer;
  private readonly inputs: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private drainListeners: (() => void)[] = [];
  private closed = false;
  private readonly m;
  private lastError = '';

  constructor(private readonly sink: Sink, private readonly cfg: CommonSinkConfig, private readonly log: Logger) {
    this.name = sink.name;
    this.buffer = new MemoryBuffer(cfg.buffer.max_events);
    this.inputs = cfg.inputs.length ? new Set(cfg.inputs) : undefined;
    this.m = {
      sent: selfMetrics.eventsSent.labels(this.name),
      batches: selfMetrics.batchesSent.labels(this.name),
      retryable: selfMetrics.sendFailures.labels(this.name, 'retryable'),
      permanent: selfMetrics.sendFailures.labels(this.name, 'permanent'),
      retries: selfMetrics.retries.labels(this.name),
      droppedFull: selfMetrics.dropped.labels(this.name, 'buffer_full'),
      droppedRejected: selfMetrics.dropped.labels(this.name, 'rejected'),
      droppedShutdown: selfMetrics.dropped.labels(this.name, 'shutdown'),
      buffered: selfMetrics.bufferEvents.labels(this.name),
      duration: selfMetrics.exportDuration.labels(this.name),
    };
  }

  wants(source: string): boolean {
    return !this.inputs || this.inputs.has(source);
  }

  /** Accepts an envelope; false asks the sources to stop reading (when_full: block and the buffer is full). */
  offer(env: Envelope): boolean {
    if (this.buffer.full) {
      switch (this.cfg.buffer.when_full) {
        case 'drop_newest':
          this.m.droppedFull.inc();
          return true;
        case 'drop_oldest':
          if (this.buffer.dropOldest()) this.m.droppedFull.inc();
          break;
        case 'block':
          // Frames already decoded when the socket paused are still taken: the cap is soft by the
          // few frames in flight, and nothing accepted from the vendor is ever dropped.
          break;
      }
    }
    this.buffer.push(env);
    this.schedule();
    return !(this.cfg.buffer.when_full === 'block' && this.buffer.full);
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  get blocked(): boolean {
    return this.cfg.buffer.when_full === 'block' && this.buffer.full;
  }

  status(): { ready: boolean; buffered: number; detail: string } {
    return {
      ready: !this.buffer.full,
      buffered: this.buffer.size,
      detail: this.buffer.full ? `buffer full (${this.buffer.size})` : this.lastError || 'ok',
    };
  }

  private schedule(): void {
    if (this.sending || this.closed) return;
    if (this.buffer.pending >= this.cfg.batch.max_events) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.sending = this.sendNext();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (!this.sending && this.buffer.pending > 0) this.sending = this.sendNext();
      }, this.cfg.batch.timeout);
    }
  }

  private async sendNext(): Promise<void> {
    while (this.buffer.pending > 0 && !this.abort.signal.aborted) {
      const batch = this.buffer.take(this.cfg.batch.max_events);
      const ok = await this.deliver(batch);
      if (!ok) break; // aborted during shutdown: the batch stays unacked
      this.buffer.ack();
      this.m.buffered.set(this.buffer.size);
      if (!this.buffer.full) this.notifyDrain();
      if (this.buffer.pending < this.cfg.batch.max_events && !this.flushing) break;
    }
    this.sending = undefined;
    if (this.buffer.pending > 0 && !this.abort.signal.aborted) this.schedule();
  }

  private notifyDrain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }

  /** True when the batch left the buffer for good (delivered or permanently rejected). */
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
          if (attempt === 1 || attempt % 10 === 0) {
            this.log.warn({ attempt, delay_ms: Math.round(delayMs), err: this.lastError, events: batch.length }, 'send failed; retrying');
          }
        },
      });
      this.m.duration.observe((performance.now() - started) / 1000);
      this.m.sent.inc(batch.length);
      this.m.batches.inc();
      this.lastError = '';
      return true;
    } catch (err) {
      if (this.abort.signal.aborted) return false;
      // Permanent rejection, or max_elapsed_time ran out: count and log it, never silently.
      this.m.permanent.inc();
      this.m.droppedRejected.inc(batch.length);
      this.lastError = (err as Error).message;
      this.log.error({ err: this.lastError, events: batch.length }, 'batch rejected by the sink; dropped');
      return true;
    }
  }

  private flushing = false;

  /** Sends everything buffered, giving up at the deadline; returns how many envelopes were left. */
  async flush(deadlineMs: number): Promise<number> {
    this.flushing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = setTimeout(() => this.abort.abort(new Error('shutdown grace period over')), Math.max(0, deadlineMs - Date.now()));
    // A sink that ignores the abort signal must not hold the process past its grace period.
    const aborted = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      while (this.buffer.size > 0 && !this.abort.signal.aborted) {
        this.sending ??= this.sendNext();
        await Promise.race([this.sending, aborted]);
      }
    } finally {
      clearTimeout(deadline);
    }
    const left = this.buffer.size;
    if (left > 0) {
      this.m.droppedShutdown.inc(left);
      this.log.error({ events: left }, 'shutdown grace period ended with events still buffered; they are lost (use a disk buffer to keep them)');
    }
    this.closed = true;
    await this.sink.close();
    return left;
  }
}
