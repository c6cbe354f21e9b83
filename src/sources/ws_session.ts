import WebSocket, { type ClientOptions } from 'ws';
import { tlsClientOptions } from '../net/tls.js';
import type { IncomingMessage } from 'node:http';
import type { Emitter } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { SampledWarn } from '../telemetry/logger.js';
import { selfMetrics } from '../telemetry/metrics.js';
import { retryWithBackoff } from '../pipeline/backoff.js';
import type { CommonSourceConfig, SourceStatus } from './source.js';

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
  /** The socket closed: forget per-connection state (subscription ids). */
  onClosed?(): void;
}

/** The upgrade was refused with 401/403: a credential problem, counted apart from other failures. */
export class AuthError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'AuthError';
  }
}

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
  readonly warn: SampledWarn;
  private readonly m;

  constructor(
    readonly name: string,
    private readonly cfg: CommonSourceConfig,
    private readonly hooks: SessionHooks,
    private readonly emitter: Emitter,
    readonly log: Logger,
  ) {
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
      this.m.connected.set(1);
      this.log.info({ attempts: this.attempts }, 'session established');
    }
  }

  status(): SourceStatus {
    return { connected: this.established, detail: this.established ? 'subscribed' : this.lastError || 'connecting' };
  }

  reject(reason: string, detail: Record<string, unknown> = {}): void {
    selfMetrics.framesRejected.labels(this.name, reason).inc();
    this.warn.warn(`reject:${reason}`, { reason, ...detail }, 'frame rejected');
  }

  /** Emits into the pipeline; pauses the socket (real TCP backpressure) while the pipeline is full. */
  emit = (envelope: Parameters<Emitter['emit']>[0]): void => {
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
          onRetry: (err, attempt, delayMs) => {
            this.lastError = (err as Error).message;
            this.warn.warn('reconnect', { attempt, delay_ms: Math.round(delayMs), err: this.lastError }, 'connection failed; reconnecting');
          },
        });
      } catch {
        return; // aborted: stop() was called
      }
    }
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
    };
    Object.assign(opts, tlsClientOptions(this.cfg.tls));

    const ws = new WebSocket(target.url, opts);
    this.ws = ws;
    let openedAt = 0;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongDeadline: NodeJS.Timeout | undefined;

    const result = new Promise<void>((resolve, reject) => {
      let failure: Error | undefined;
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        res.resume();
        if (status === 401 || status === 403) {
          this.m.auth.inc();
          failure = new AuthError(`upgrade refused with ${status}: check the credential`, status);
        } else {
          failure = new Error(`upgrade refused with HTTP ${status}`);
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
        Promise.resolve(this.hooks.onOpen(ws)).catch((err: Error) => {
          failure = err;
          ws.terminate();
        });
      });
      ws.on('pong', () => {
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
      });
      ws.on('message', (data: Buffer) => {
        this.m.received.inc();
        this.lastFrameAt = Date.now();
        this.hooks.onFrame(data, ws);
      });
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.reject('oversized', { limit: this.cfg.max_frame_bytes });
        failure ??= err;
      });
      ws.on('close', (code: number, reason: Buffer) => {
        clearInterval(pingTimer);
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
        const wasEstablished = this.established;
        this.established = false;
        this.m.connected.set(0);
        this.hooks.onClosed?.();
        if (this.abort.signal.aborted) return resolve();
        const why = failure ? failure.message : `closed by server (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
        this.lastError = why;
        this.warn.warn('closed', { code, established: wasEstablished, why }, 'socket closed');
        if (openedAt && wasEstablished && Date.now() - openedAt >= HEALTHY_AFTER_MS) resolve();
        else reject(failure ?? new Error(why));
      });
    });
    return result;
  }

  private set lastFrameAt(ms: number) {
    this.m.lastFrame.set(ms / 1000);
  }
}
