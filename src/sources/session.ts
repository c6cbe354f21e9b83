import WebSocket, { type ClientOptions } from 'ws';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Emitter, Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import { SampledWarn, peerText } from '../telemetry/logger.js';
import type { SourceMetrics } from '../telemetry/metrics.js';
import { FoldedCounter, FoldedGauge } from '../telemetry/folded.js';
import { tlsClientOptions } from '../net/tls.js';
import { AuthError, LockoutSuspected, RateLimited, DEFAULT_RETRY_AFTER_MS, retryAfterMs } from '../net/errors.js';
import { retryWithBackoff } from '../pipeline/backoff.js';
import { DEFAULT_LIMITS, sanitizeEnvelope, type FrameLimits, type Verdict } from '../mapping/values.js';
import type { Ack, Link, Meaning, Protocol } from './protocol.js';
import type { CommonSourceConfig } from './source.js';

/** The slow schedule after a refused credential: default 1 min, doubling to 30 min. */
export const DEFAULT_AUTH_RETRY = { initial_interval: 60_000, max_interval: 1_800_000 };
/** How long a subscription may wait for its answer (`subscribe_timeout`). */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 30_000;
/** The first wait before asking again for a refused or unanswered subscription (`resubscribe_interval`); doubles. */
export const DEFAULT_RESUBSCRIBE_INTERVAL_MS = 60_000;
/** The longest wait between two asks for one subscription. */
export const MAX_RESUBSCRIBE_INTERVAL_MS = 1_800_000;

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The clock of the slow schedules (auth refused, 429, lockout guard, re-subscribing); tests pass a fake one. */
export interface SlowClock {
  now(): number;
  sleep: Sleep;
}

export const realClock: SlowClock = { now: () => Date.now(), sleep: (ms, signal) => sleepFor(ms, undefined, { signal }) };

// A session that stayed up this long was healthy: the next failure starts backoff from scratch.
const HEALTHY_AFTER_MS = 10_000;

/** Why a session cannot see its vendor right now ('' when it can): the `cause` of a gap record. */
export type BlindCause = '' | 'connecting' | 'closed' | 'auth' | 'lockout' | 'rate_limited' | 'resubscribing';

export type SubscriptionState = 'pending' | 'active' | 'failed';

export interface SubscriptionView {
  name: string;
  state: SubscriptionState;
  /** Why it failed (the vendor's refusal, or the missed deadline). */
  detail: string;
}

/** What a Session needs from its source: the source's context, narrowed. */
export interface SessionContext {
  emitter: Emitter;
  log: Logger;
  metrics: SourceMetrics;
  clock: SlowClock;
}

interface Subscription {
  state: SubscriptionState;
  detail: string;
  /** Asks again so far (the resubscribe schedule doubles with them). */
  retries: number;
  deadline: NodeJS.Timeout | undefined;
}

interface Connection {
  ws: WebSocket;
  /** Why this connection ended, when it is known better than "closed by server". */
  failure: Error | undefined;
  link: Link;
  abort: AbortController;
}

/** What one frame (or one delivery) may still add: points, records and envelopes left, and what it lost so far. */
interface FrameBudget {
  points: number;
  records: number;
  envelopes: number;
  verdict: Verdict;
}

/** The session's one budget, made ready for the next frame (frames are handled one at a time, synchronously). */
function resetBudget(b: FrameBudget, l: FrameLimits): FrameBudget {
  b.points = l.points_per_frame;
  b.records = l.records_per_frame;
  b.envelopes = 0;
  b.verdict.values.clear();
  b.verdict.cut.clear();
  return b;
}

/** A Meaning with nothing in it: the frame meant nothing this vendor knows (`unmapped`). */
export function isEmptyMeaning(m: Meaning): boolean {
  return !m.envelopes?.length && !m.rejects?.length && !m.acks?.length && !m.send?.length && !m.control && !m.fail;
}

/**
 * One socket's whole life around a Protocol ("values out, not callbacks in"): log in (protocol.connect),
 * open with the shared TLS block, keep alive with ping/pong, decode each frame once (NUL bytes stripped,
 * JSON parsed), ask the protocol what it meant and act on the answer (emit within the frame's budget,
 * count rejections, track subscription answers and their deadlines, send, fail), pause reading while
 * the pipeline is full, and reconnect with full-jitter backoff or on the slow schedules (auth refused,
 * likely lockout, 429). The protocol never counts, emits or closes anything itself.
 */
export class Session {
  private conn: Connection | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private paused = false;
  private established = false;
  private attempts = 0;
  private lastError = '';
  /** Why the session waits on a slow schedule ('' when it does not): shown by /readyz. */
  private problem: '' | 'auth' | 'lockout' | 'rate_limited' = '';
  private problemDetail = '';
  private authRefusals = 0;
  /** The expected subscriptions of the current (or last) connection, by name. */
  private readonly subs = new Map<string, Subscription>();
  private cause: BlindCause = 'connecting';
  private readonly limits: FrameLimits;
  private readonly budget: FrameBudget = { points: 0, records: 0, envelopes: 0, verdict: { values: new Map(), cut: new Set() } };
  readonly warn: SampledWarn;
  readonly log: Logger;
  private readonly m;
  private readonly listeners: (() => void)[] = [];

  constructor(
    /** The source's name: the `source` label of every self-metric. */
    readonly name: string,
    private readonly cfg: CommonSourceConfig,
    readonly protocol: Protocol,
    private readonly ctx: SessionContext,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...cfg.limits };
    this.log = protocol.label ? ctx.log.child({ socket: protocol.label }) : ctx.log;
    this.warn = new SampledWarn(this.log);
    const sm = ctx.metrics;
    this.m = {
      received: FoldedCounter.of(sm.framesReceived, name),
      reconnects: sm.reconnects.labels(name),
      lastFrame: FoldedGauge.of(sm.lastFrame, name),
      auth: sm.authFailures.labels(name),
      events: FoldedCounter.of(sm.eventsMapped, name),
      points: FoldedCounter.of(sm.pointsMapped, name),
      records: FoldedCounter.of(sm.recordsMapped, name),
    };
  }

  /** Called on every change of `blind()`, `isEstablished()` or a subscription's state. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  start(): void {
    this.running ??= this.loop();
  }

  isEstablished(): boolean {
    return this.established;
  }

  /** Why this session cannot see its vendor now ('' when it can: established, no subscription failed). */
  blind(): BlindCause {
    const failed = [...this.subs.values()].some((s) => s.state === 'failed');
    if (this.established) return failed ? 'resubscribing' : '';
    // Open, but every subscription so far refused or unanswered: asking again, not connecting.
    return this.conn && failed ? 'resubscribing' : this.cause || 'connecting';
  }

  subscriptions(): SubscriptionView[] {
    return [...this.subs].map(([name, s]) => ({ name, state: s.state, detail: s.detail }));
  }

  status(): { connected: boolean; detail: string; problem?: 'auth' | 'lockout' | 'rate_limited' } {
    if (this.established) return { connected: true, detail: this.subscribedText() };
    if (this.conn && [...this.subs.values()].some((s) => s.state === 'failed')) return { connected: false, detail: this.subscribedText() };
    if (this.problem) return { connected: false, detail: this.problemDetail, problem: this.problem };
    return { connected: false, detail: this.lastError || 'connecting' };
  }

  /** `subscribed`, or `subscribed 3/4; failed: /x (refused: …); pending: /y` when some are not active. */
  private subscribedText(): string {
    const all = [...this.subs];
    const active = all.filter(([, s]) => s.state === 'active').length;
    if (active === all.length) return 'subscribed';
    const failed = all.filter(([, s]) => s.state === 'failed').map(([n, s]) => `${n} (${s.detail})`);
    const pending = all.filter(([, s]) => s.state === 'pending').map(([n]) => n);
    return [`subscribed ${active}/${all.length}`, failed.length ? `failed: ${failed.join(', ')}` : '', pending.length ? `pending: ${pending.join(', ')}` : '']
      .filter(Boolean).join('; ');
  }

  private setEstablished(): void {
    if (this.established) return;
    this.established = true;
    this.authRefusals = 0;
    this.problem = '';
    this.problemDetail = '';
    this.cause = '';
    this.log.info({ attempts: this.attempts }, 'session established');
    this.changed();
  }

  reject(reason: string, detail: Record<string, unknown> = {}): void {
    this.ctx.metrics.framesRejected.labels(this.name, reason).inc();
    this.warn.warn(`reject:${reason}`, { reason, ...detail }, 'frame rejected');
  }

  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const c = this.conn;
    try {
      await this.protocol.stop?.(c && c.ws.readyState === WebSocket.OPEN ? c.link : undefined);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'unsubscribe/logout failed during stop');
    }
    this.abort.abort();
    const ws = this.conn?.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.close(1000, 'ws2otel shutting down');
      const timer = setTimeout(() => ws.terminate(), 2000);
      await closed;
      clearTimeout(timer);
    }
    await this.running?.catch(() => undefined);
    for (const name of this.subs.keys()) this.ctx.metrics.subscriptionUp.remove(this.name, name);
    this.clearSubscriptions();
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
   * password never locks an account or an address. After a 429: Retry-After, else DEFAULT_RETRY_AFTER_MS.
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
    this.setCause(this.problem);
    this.ctx.metrics.connectFailures.labels(this.name, this.problem).inc();
    const what = this.problem === 'rate_limited' ? 'rate limited' : this.problem === 'lockout' ? 'likely lockout' : 'auth refused';
    this.lastError = this.problemDetail = `${what}: ${err.message}; next try in ${Math.round(delay / 1000)} s`;
    this.log.warn({ reason: this.problem, delay_ms: delay, err: err.message }, `${what}; waiting before the next try`);
    await this.ctx.clock.sleep(delay, this.abort.signal);
  }

  private setCause(cause: BlindCause): void {
    if (this.cause === cause) return;
    this.cause = cause;
    if (!this.established) this.changed();
  }

  /** Resolves when a healthy session ends; rejects when connecting fails or the session dies young. */
  private async connectOnce(): Promise<void> {
    if (this.attempts++ > 0) this.m.reconnects.inc();
    let target;
    try {
      target = await this.protocol.connect(this.abort.signal);
    } catch (err) {
      // Counted here for every vendor (a protocol never counts): a refusal by the vendor, not our own lockout guard.
      if (err instanceof AuthError && !(err instanceof LockoutSuspected)) this.m.auth.inc();
      throw err;
    }
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

    const ws = target.protocols?.length ? new WebSocket(target.url, target.protocols, opts) : new WebSocket(target.url, opts);
    const abort = new AbortController();
    const conn: Connection = {
      ws,
      failure: undefined,
      abort,
      link: {
        send: (text) => {
          if (this.conn === conn && ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        deliver: (meaning) => {
          if (this.conn === conn) this.deliver(meaning, conn);
        },
        signal: abort.signal,
      },
    };
    this.conn = conn;
    let openedAt = 0;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongDeadline: NodeJS.Timeout | undefined;

    return new Promise<void>((resolve, reject) => {
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
        // A synchronous throw from the protocol is a failed connection too, never an escaped exception.
        Promise.resolve()
          .then(() => this.protocol.open(conn.link))
          .then((opening) => {
            if (this.conn !== conn || ws.readyState !== WebSocket.OPEN) return;
            for (const text of opening.send ?? []) ws.send(text);
            this.expect(opening.expect ?? [], conn);
            if (opening.meaning) this.deliver(opening.meaning, conn);
          })
          .catch((err: Error) => {
            conn.failure ??= err;
            ws.terminate();
          });
      });
      ws.on('pong', () => {
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary, conn));
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.reject('oversized', { limit: this.cfg.max_frame_bytes });
        conn.failure ??= err;
      });
      ws.on('close', (code: number, reason: Buffer) => {
        clearInterval(pingTimer);
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
        abort.abort();
        if (this.conn === conn) this.conn = undefined;
        const wasEstablished = this.established;
        this.established = false;
        this.stopDeadlines();
        // A subscription does not outlive its connection: every name waits for the next one's answer.
        for (const [name, sub] of this.subs) {
          sub.state = 'pending';
          sub.detail = '';
          this.ctx.metrics.subscriptionUp.labels(this.name, name).set(0);
        }
        let meant: Error | void = undefined;
        try {
          meant = this.protocol.closed?.();
        } catch (err) {
          this.log.warn({ err: String(err) }, 'cleanup after close failed');
        }
        if (meant) conn.failure ??= meant;
        if (this.abort.signal.aborted) return resolve();
        const failure = conn.failure;
        const why = failure ? failure.message : `closed by server (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
        this.lastError = why;
        this.cause = wasEstablished ? 'closed' : this.cause || 'connecting';
        this.changed();
        this.warn.warn('closed', { code, established: wasEstablished, why }, 'socket closed');
        if (failure instanceof AuthError || failure instanceof RateLimited) reject(failure);
        else if (openedAt && wasEstablished && Date.now() - openedAt >= HEALTHY_AFTER_MS) resolve();
        else reject(failure ?? new Error(why));
      });
    });
  }

  /** Hands one frame to the session as if the current connection (if any) had read it: how tests feed frames without a socket. */
  receive(data: Buffer, isBinary = false): void {
    this.onMessage(data, isBinary, this.conn);
  }

  /**
   * The one place frames enter: decoded once (NUL bytes, which Mist pads with, stripped from the whole
   * frame; JSON parsed unless the protocol takes text), then handed to the protocol. Whatever decoding
   * or mapping throws is this frame's counted rejection; the socket and the other frames go on.
   */
  private onMessage(data: Buffer, isBinary: boolean, conn: Connection | undefined): void {
    this.m.received.inc();
    const receivedMs = Date.now();
    this.m.lastFrame.set(receivedMs / 1000);
    if (!isBinary && !isUtf8(data)) return this.reject('invalid_utf8', { bytes: data.length });
    let text = data.toString('utf8');
    if (text.includes('\u0000')) text = text.replaceAll('\u0000', '');
    let value: unknown = text;
    if (this.protocol.frames !== 'text') {
      try {
        value = JSON.parse(text);
      } catch {
        return this.reject('malformed_json', { bytes: data.length });
      }
    }
    let meaning: Meaning;
    try {
      meaning = this.protocol.frame(value, { bytes: data.length, receivedMs });
    } catch (err) {
      return this.reject('mapping_error', { bytes: data.length, err: err instanceof Error ? err.name : typeof err });
    }
    if (isEmptyMeaning(meaning)) return this.reject('unmapped', { bytes: data.length });
    this.act(meaning, conn, data.length);
  }

  /** Work a protocol did between frames (a REST snapshot, a timer): acted on like a frame's meaning. */
  private deliver(meaning: Meaning, conn: Connection): void {
    this.act(meaning, conn, 0);
  }

  private act(meaning: Meaning, conn: Connection | undefined, bytes: number): void {
    try {
      if (meaning.envelopes?.length) {
        const budget = resetBudget(this.budget, this.limits);
        for (const env of meaning.envelopes) this.emitWithin(env, budget);
        this.settle(budget);
      }
      for (const r of meaning.rejects ?? []) this.reject(r.reason, { ...(bytes ? { bytes } : {}), ...r.detail });
      for (const a of meaning.acks ?? []) this.ack(a, conn);
      for (const text of meaning.send ?? []) conn?.link.send(text);
    } catch (err) {
      // A getter on a hostile shape, a stack overflow in a deep envelope: this frame's loss, nothing more.
      this.reject('mapping_error', { bytes, err: err instanceof Error ? err.name : typeof err });
    }
    if (meaning.fail && conn && this.conn === conn) {
      conn.failure ??= meaning.fail;
      conn.ws.terminate();
    }
  }

  /**
   * Makes one envelope fit for a sink (values.ts) within its frame's budget and emits it; pauses the
   * socket (real TCP backpressure) while the pipeline is full.
   */
  private emitWithin(raw: Envelope, budget: FrameBudget): void {
    if (budget.envelopes >= this.limits.envelopes_per_frame) {
      budget.verdict.cut.add('too_many_envelopes');
      return;
    }
    const envelope = sanitizeEnvelope(raw, budget, this.limits, budget.verdict);
    if (!envelope) return;
    budget.envelopes++;
    budget.points -= envelope.metrics.length;
    budget.records -= envelope.logs.length;
    this.m.events.inc();
    if (envelope.metrics.length) this.m.points.inc(envelope.metrics.length);
    if (envelope.logs.length) this.m.records.inc(envelope.logs.length);
    if (!this.ctx.emitter.emit(envelope) && !this.paused) {
      this.paused = true;
      this.conn?.ws.pause();
      this.ctx.emitter.onDrain(() => {
        this.paused = false;
        this.conn?.ws.resume();
      });
    }
  }

  /** Counts what a frame's envelopes lost. */
  private settle(b: FrameBudget): void {
    for (const [reason, n] of b.verdict.values) this.ctx.metrics.valuesRejected.labels(this.name, reason).inc(n);
    for (const reason of b.verdict.cut) this.reject(reason, { limits: this.limits });
  }

  // --- subscriptions: each expected name pending → active | failed, with a deadline and a slow retry ---

  private expect(names: readonly string[], conn: Connection): void {
    const fresh = new Set(names);
    for (const name of this.subs.keys()) if (!fresh.has(name)) this.ctx.metrics.subscriptionUp.remove(this.name, name);
    this.clearSubscriptions();
    for (const name of fresh) {
      this.subs.set(name, { state: 'pending', detail: '', retries: 0, deadline: undefined });
      this.ctx.metrics.subscriptionUp.labels(this.name, name).set(0);
      this.arm(name, conn);
    }
    this.countSubscriptions();
    if (fresh.size === 0) this.setEstablished();
  }

  /** Starts a pending subscription's deadline: no answer by then makes it failed (and retried). */
  private arm(name: string, conn: Connection): void {
    const s = this.subs.get(name);
    if (!s) return;
    clearTimeout(s.deadline);
    const ms = this.cfg.subscribe_timeout ?? DEFAULT_SUBSCRIBE_TIMEOUT_MS;
    s.deadline = setTimeout(() => {
      s.deadline = undefined;
      if (this.conn !== conn || s.state !== 'pending') return;
      this.fail(name, s, `no answer within ${Math.round(ms / 1000)} s`, conn);
    }, ms);
  }

  private ack(a: Ack, conn: Connection | undefined): void {
    const s = conn ? this.subs.get(a.name) : undefined;
    // Only names this connection asked for have a state: a stray or hostile ack grows nothing.
    if (!s || !conn) return this.reject('unknown_subscription', {});
    clearTimeout(s.deadline);
    s.deadline = undefined;
    if (a.ok) {
      const was = s.state;
      s.state = 'active';
      s.detail = '';
      s.retries = 0;
      this.ctx.metrics.subscriptionUp.labels(this.name, a.name).set(1);
      this.countSubscriptions();
      this.setEstablished();
      if (was !== 'active') this.changed();
    } else {
      // The vendor's words go to /readyz and the log: cut, control characters folded, secrets scrubbed (a server may echo a token).
      this.fail(a.name, s, `refused: ${peerText(a.detail ?? 'no reason given')}`, conn);
    }
  }

  /** A refused or unanswered subscription: failed now, asked for again on the slow schedule; the others are untouched. */
  private fail(name: string, s: Subscription, detail: string, conn: Connection): void {
    s.state = 'failed';
    s.detail = detail;
    this.ctx.metrics.subscriptionUp.labels(this.name, name).set(0);
    this.countSubscriptions();
    this.warn.warn(`subscription:${name}`, { subscription: name, why: detail }, 'subscription failed; will ask again');
    this.changed();
    const resubscribe = this.protocol.resubscribe?.bind(this.protocol);
    if (!resubscribe) return;
    const base = this.cfg.resubscribe_interval ?? DEFAULT_RESUBSCRIBE_INTERVAL_MS;
    const delay = Math.min(MAX_RESUBSCRIBE_INTERVAL_MS, base * 2 ** Math.min(s.retries++, 30));
    this.ctx.clock.sleep(delay, conn.abort.signal).then(
      async () => {
        if (this.conn !== conn || this.subs.get(name) !== s || s.state !== 'failed') return;
        s.state = 'pending';
        this.countSubscriptions();
        this.arm(name, conn);
        const meaning = await resubscribe(name, conn.link);
        if (this.conn === conn) this.deliver(meaning, conn);
      },
    ).catch((err: unknown) => {
      if (conn.abort.signal.aborted) return;
      // A resubscribe that threw is one more failed ask: wait the next (longer) interval.
      if (this.subs.get(name) === s && s.state === 'pending') this.fail(name, s, `resubscribe failed: ${err instanceof Error ? err.message : String(err)}`, conn);
    });
  }

  private stopDeadlines(): void {
    for (const s of this.subs.values()) {
      clearTimeout(s.deadline);
      s.deadline = undefined;
    }
  }

  private clearSubscriptions(): void {
    this.stopDeadlines();
    this.subs.clear();
    this.countSubscriptions();
  }

  /** The source sums its sessions' subscriptions into `ws2otel_source_subscriptions{state}` (ProtocolSource). */
  private countSubscriptions(): void {
    this.changed();
  }
}
