import WebSocket, { type ClientOptions } from 'ws';
import { tlsClientOptions } from '../net/tls.js';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Emitter, Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { SampledWarn } from '../telemetry/logger.js';
import { selfMetrics } from '../telemetry/metrics.js';
import { retryWithBackoff } from '../pipeline/backoff.js';
import type { CommonSourceConfig, SourceStatus } from './source.js';
import { DEFAULT_LIMITS, sanitizeEnvelope, type FrameLimits, type Verdict } from '../mapping/values.js';

/** Where and how to open the socket; produced anew before every connection (after a fresh login). */
export interface ConnectTarget {
  url: string;
  headers: Record<string, string>;
}

/** The vendor-specific half of a source; WsSession does the socket's life around it. */
export interface SessionHooks {
  prepare(signal: AbortSignal): Promise<ConnectTarget>;
  /** Socket is open: authenticate and subscribe (send on `ws`). */
  onOpen(ws: WebSocket): void | Promise<void>;
  onFrame(data: Buffer, ws: WebSocket): void;
  /** Before a deliberate close: unsubscribe, log out. */
  onStop?(ws: WebSocket | undefined): Promise<void>;
  /**
   * The socket closed: forget per-connection state (subscription ids). An Error returned says what the
   * close meant when the session could not know (a sysadm socket closed at once: a likely lockout).
   */
  onClosed?(): Error | void;
}

export { AuthError, LockoutSuspected, RateLimited, DEFAULT_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, retryAfterMs } from '../net/errors.js';
import { AuthError, RateLimited, DEFAULT_RETRY_AFTER_MS, retryAfterMs } from '../net/errors.js';

// Shared with the one Session (session.ts), which replaces this class once every vendor is converted.
export { DEFAULT_AUTH_RETRY, realClock, type Sleep, type SlowClock } from './session.js';
import { DEFAULT_AUTH_RETRY, realClock, type SlowClock } from './session.js';

// A session that stayed up this long was healthy: the next failure starts backoff from scratch.
const HEALTHY_AFTER_MS = 10_000;

/**
 * One vendor WebSocket kept alive: connect (after the hooks' login), keep it alive with ping/pong,
 * pause reading when the pipeline is full, and on any close or error reconnect with full-jitter
 * backoff, re-running the hooks so that they re-authenticate and re-subscribe.
 */
export class WsSession {
  private ws: WebSocket | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private paused = false;
  private established = false;
  private attempts = 0;
  private lastError = '';
  /** Why the source waits on a slow schedule ('' when it does not): shown by /readyz. */
  private problem: '' | 'auth' | 'lockout' | 'rate_limited' = '';
  /** What the last slow wait was for; kept (with the problem) until a session is established again. */
  private problemDetail = '';
  /** Refused credentials in a row: the auth schedule grows with them; an established session resets it. */
  private authRefusals = 0;
  private current: ConnectionState | undefined;
  /** The budget of the frame being handled (undefined outside onFrame: each emit is its own budget). */
  private frame: FrameBudget | undefined;
  private readonly limits: FrameLimits;
  readonly warn: SampledWarn;
  private readonly m;

  constructor(
    readonly name: string,
    private readonly cfg: CommonSourceConfig,
    private readonly hooks: SessionHooks,
    private readonly emitter: Emitter,
    readonly log: Logger,
    /** Waits of the slow schedules (auth, 429); tests pass a fake clock. */
    private readonly clock: SlowClock = realClock,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...cfg.limits };
    this.warn = new SampledWarn(log);
    this.m = {
      received: selfMetrics.framesReceived.labels(name),
      reconnects: selfMetrics.reconnects.labels(name),
      connected: selfMetrics.connected.labels(name),
      lastFrame: selfMetrics.lastFrame.labels(name),
      auth: selfMetrics.authFailures.labels(name),
      events: selfMetrics.eventsMapped.labels(name),
      points: selfMetrics.pointsMapped.labels(name),
      records: selfMetrics.recordsMapped.labels(name),
    };
    this.m.connected.set(0);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Marks the session as subscribed and healthy (status, readiness). */
  setEstablished(): void {
    if (!this.established) {
      this.established = true;
      this.authRefusals = 0;
      this.problem = '';
      this.problemDetail = '';
      this.m.connected.set(1);
      this.log.info({ attempts: this.attempts }, 'session established');
    }
  }

  status(): SourceStatus {
    if (this.established) return { connected: true, detail: 'subscribed' };
    if (this.problem) return { connected: false, detail: this.problemDetail, problem: this.problem };
    return { connected: false, detail: this.lastError || 'connecting' };
  }

  /** Ends the current connection with this error as its cause (a refusal learnt after the socket opened). */
  failConnection(err: Error): void {
    const c = this.current;
    if (!c) return;
    c.failure ??= err;
    c.ws.terminate();
  }

  reject(reason: string, detail: Record<string, unknown> = {}): void {
    selfMetrics.framesRejected.labels(this.name, reason).inc();
    this.warn.warn(`reject:${reason}`, { reason, ...detail }, 'frame rejected');
  }

  /**
   * Emits into the pipeline; pauses the socket (real TCP backpressure) while the pipeline is full.
   * Every envelope is first made fit for a sink (values.ts) within its frame's budget: what was dropped,
   * replaced or cut is counted here, the one place every vendor's envelopes pass.
   */
  emit = (raw: Envelope): void => {
    const budget = this.frame ?? newBudget(this.limits);
    if (budget.envelopes >= this.limits.envelopes_per_frame) {
      budget.verdict.cut.add('too_many_envelopes');
      if (!this.frame) this.settle(budget);
      return;
    }
    const envelope = sanitizeEnvelope(raw, budget, this.limits, budget.verdict);
    if (envelope) {
      budget.envelopes++;
      budget.points -= envelope.metrics.length;
      budget.records -= envelope.logs.length;
    }
    if (!this.frame) this.settle(budget);
    if (envelope) this.send(envelope);
  };

  /** Counts what a frame's (or a lone emit's) envelopes lost. */
  private settle(b: FrameBudget): void {
    for (const [reason, n] of b.verdict.values) selfMetrics.valuesRejected.labels(this.name, reason).inc(n);
    for (const reason of b.verdict.cut) this.reject(reason, { limits: this.limits });
  }

  private send(envelope: Envelope): void {
    this.m.events.inc();
    if (envelope.metrics.length) this.m.points.inc(envelope.metrics.length);
    if (envelope.logs.length) this.m.records.inc(envelope.logs.length);
    if (!this.emitter.emit(envelope) && !this.paused) {
      this.paused = true;
      this.ws?.pause();
      this.emitter.onDrain(() => {
        this.paused = false;
        this.ws?.resume();
      });
    }
  };

  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    try {
      await this.hooks.onStop?.(this.ws?.readyState === WebSocket.OPEN ? this.ws : undefined);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'unsubscribe/logout failed during stop');
    }
    this.abort.abort();
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.close(1000, 'ws2otel shutting down');
      const timer = setTimeout(() => ws.terminate(), 2000);
      await closed;
      clearTimeout(timer);
    }
    await this.running?.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { initial_interval, max_interval } = this.cfg.reconnect;
    while (!this.abort.signal.aborted) {
      try {
        await retryWithBackoff(() => this.connectOnce(), {
          initialMs: initial_interval,
          maxMs: max_interval,
          signal: this.abort.signal,
          // A refused credential or a 429 leaves the fast loop for a slow wait (below).
          shouldRetry: (err) => !(err instanceof AuthError || err instanceof RateLimited),
          onRetry: (err, attempt, delayMs) => {
            this.lastError = (err as Error).message;
            this.warn.warn('reconnect', { attempt, delay_ms: Math.round(delayMs), err: this.lastError }, 'connection failed; reconnecting');
          },
        });
      } catch (err) {
        if (this.abort.signal.aborted) return; // stop() was called
        try {
          await this.slowWait(err as Error);
        } catch {
          return; // aborted while waiting
        }
      }
    }
  }

  /**
   * After a refused credential: the auth schedule (default 1 min, doubling to 30 min), so a wrong
   * password never locks an account or an address (sysadm blocks an address for an hour after 5 refused
   * logins in a minute). After a 429: Retry-After, else DEFAULT_RETRY_AFTER_MS.
   */
  private async slowWait(err: Error): Promise<void> {
    let delay: number;
    if (err instanceof RateLimited) {
      this.problem = 'rate_limited';
      delay = err.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
    } else if (err instanceof AuthError) {
      this.problem = err.reason;
      const { initial_interval, max_interval } = { ...DEFAULT_AUTH_RETRY, ...this.cfg.auth_retry };
      delay = Math.min(max_interval, initial_interval * 2 ** Math.min(this.authRefusals++, 30));
    } else {
      throw err;
    }
    selfMetrics.connectFailures.labels(this.name, this.problem).inc();
    const what = this.problem === 'rate_limited' ? 'rate limited' : this.problem === 'lockout' ? 'likely lockout' : 'auth refused';
    this.lastError = this.problemDetail = `${what}: ${err.message}; next try in ${Math.round(delay / 1000)} s`;
    this.log.warn({ reason: this.problem, delay_ms: delay, err: err.message }, `${what}; waiting before the next try`);
    await this.clock.sleep(delay, this.abort.signal);
  }

  /** Resolves when a healthy session ends; rejects when connecting fails or the session dies young. */
  private async connectOnce(): Promise<void> {
    if (this.attempts++ > 0) this.m.reconnects.inc();
    const target = await this.hooks.prepare(this.abort.signal);
    if (this.abort.signal.aborted) return; // stopped while logging in: open nothing
    const opts: ClientOptions = {
      headers: target.headers,
      maxPayload: this.cfg.max_frame_bytes,
      handshakeTimeout: 30_000,
      perMessageDeflate: false,
      // Checked per frame below: one invalid text frame is a counted rejection, not a closed stream.
      skipUTF8Validation: true,
    };
    Object.assign(opts, tlsClientOptions(this.cfg.tls));

    const ws = new WebSocket(target.url, opts);
    this.ws = ws;
    const conn: ConnectionState = { ws, failure: undefined };
    this.current = conn;
    let openedAt = 0;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongDeadline: NodeJS.Timeout | undefined;

    const result = new Promise<void>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        res.resume();
        if (status === 401 || status === 403) {
          this.m.auth.inc();
          conn.failure = new AuthError(`upgrade refused with ${status}: check the credential`, status);
        } else if (status === 429) {
          conn.failure = new RateLimited('the upgrade', retryAfterMs(res.headers['retry-after']));
        } else {
          conn.failure = new Error(`upgrade refused with HTTP ${status}`);
        }
        ws.terminate();
      });
      ws.on('open', () => {
        openedAt = Date.now();
        this.lastError = '';
        this.log.info('socket open');
        pingTimer = setInterval(() => {
          if (this.paused) return; // our own reads are stopped: a missing pong proves nothing
          ws.ping();
          pongDeadline ??= setTimeout(() => {
            this.warn.warn('keepalive', { timeout_ms: this.cfg.keepalive.timeout }, 'no pong in time; socket considered dead');
            ws.terminate();
          }, this.cfg.keepalive.timeout);
        }, this.cfg.keepalive.interval);
        // A synchronous throw from the hook is a failed connection too, never an escaped exception.
        Promise.resolve()
          .then(() => this.hooks.onOpen(ws))
          .catch((err: Error) => {
            conn.failure ??= err;
            ws.terminate();
          });
      });
      ws.on('pong', () => {
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary, ws));
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.reject('oversized', { limit: this.cfg.max_frame_bytes });
        conn.failure ??= err;
      });
      ws.on('close', (code: number, reason: Buffer) => {
        clearInterval(pingTimer);
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
        if (this.current === conn) this.current = undefined;
        const wasEstablished = this.established;
        this.established = false;
        this.m.connected.set(0);
        let meant: Error | void = undefined;
        try {
          meant = this.hooks.onClosed?.();
        } catch (err) {
          this.log.warn({ err: String(err) }, 'cleanup after close failed');
        }
        if (meant) conn.failure ??= meant;
        if (this.abort.signal.aborted) return resolve();
        const failure = conn.failure;
        const why = failure ? failure.message : `closed by server (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
        this.lastError = why;
        this.warn.warn('closed', { code, established: wasEstablished, why }, 'socket closed');
        if (failure instanceof AuthError || failure instanceof RateLimited) reject(failure);
        else if (openedAt && wasEstablished && Date.now() - openedAt >= HEALTHY_AFTER_MS) resolve();
        else reject(failure ?? new Error(why));
      });
    });
    return result;
  }

  /**
   * The one place frames enter. Whatever decoding or mapping a frame throws (a 10,000-deep array
   * overflowing JSON.stringify's stack, a getter on a hostile shape) is this frame's counted rejection;
   * the socket and the other frames go on.
   */
  private onMessage(data: Buffer, isBinary: boolean, ws: WebSocket): void {
    this.m.received.inc();
    this.lastFrameAt = Date.now();
    if (!isBinary && !isUtf8(data)) return this.reject('invalid_utf8', { bytes: data.length });
    const budget = newBudget(this.limits);
    this.frame = budget;
    try {
      this.hooks.onFrame(data, ws);
    } catch (err) {
      this.reject('mapping_error', { bytes: data.length, err: err instanceof Error ? err.name : typeof err });
    } finally {
      this.frame = undefined;
      this.settle(budget);
    }
  }

  private set lastFrameAt(ms: number) {
    this.m.lastFrame.set(ms / 1000);
  }
}

interface ConnectionState {
  ws: WebSocket;
  /** Why this connection ended, when it is known better than "closed by server". */
  failure: Error | undefined;
}

/** What one frame may still add: points, records and envelopes left, and what it lost so far. */
interface FrameBudget {
  points: number;
  records: number;
  envelopes: number;
  verdict: Verdict;
}

function newBudget(l: FrameLimits): FrameBudget {
  return { points: l.points_per_frame, records: l.records_per_frame, envelopes: 0, verdict: { values: new Map(), cut: new Set() } };
}
