import type WebSocket from 'ws';
import type { SourceContext, SourceFactory } from '../source.js';
import { SessionSource } from '../session_source.js';
import { AuthError, LockoutSuspected } from '../ws_session.js';
import { briefJson, DEFAULT_LIMITS } from '../../mapping/values.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';
import { VERSION } from '../../version.js';
import { SysadmMapping, withoutShiftedPools } from './mapping.js';
import { DEFAULT_LOCKOUT, DEFAULT_PORT, checkSysadm, dialUrl, sysadmSchema, type SysadmConfig } from './config.js';
import { ReplayFilter } from './replay.js';
import { errorCode, isEventClass, parseMessage, type SysadmMessage } from './protocol.js';

type Pending = 'auth' | 'subscribe' | 'identify' | 'poll' | 'unsubscribe' | 'query';

/** What /readyz and the log say when the configured token is refused: nothing can renew it. */
export const STATIC_TOKEN_REFUSED = 'static token refused; it expired or the server restarted';

/** Per-connection state, dropped when the socket closes. */
interface Conn {
  ws: WebSocket;
  seq: number;
  pending: Map<string, Pending>;
  /** The first identify was answered by a server (not a bridge): only then are credentials sent. */
  identified: boolean;
  authenticated: boolean;
  subscribed: boolean;
  /** A subscribe is on its way (sent, not answered). */
  subscribing: boolean;
  polling: boolean;
  /** Settles onOpen: resolved when subscribed, rejected when auth or subscribe is refused. */
  settle: { resolve(): void; reject(err: Error): void } | undefined;
  timers: NodeJS.Timeout[];
  /** systemmanager requests not answered yet: a new round waits for the last one. */
  pollsOutstanding: number;
  reauthenticating: boolean;
  /** An authenticated call succeeded since the last login: a 401 now means the token lapsed. */
  tokenUsed: boolean;
  /** The token learnt on this connection: scrubbed from the logs while the connection lives. */
  token: string;
  /** Frames read on this connection: a blocked address is accepted and closed before any. */
  frames: number;
  openedAt: number;
}

/** Closed this soon after opening, with not one frame read: the server did not even answer identify. */
const CLOSED_AT_ONCE_MS = 5000;

/**
 * The TrueOS/FreeBSD sysadm server: TLS WebSocket, `rpc auth` (or `auth_token`), `events subscribe`,
 * event pushes with hyphenated names and id "", `rpc identify` inside the 30-minute idle limit, and
 * optional `sysadm systemmanager` polls for host metrics.
 */
export class SysadmSource extends SessionSource {
  private readonly mapping: SysadmMapping;
  private readonly url: string;
  private conn: Conn | undefined;
  /** When logins were refused (the slow clock's time), oldest first, within the server's lockout window. */
  private readonly refusals: number[] = [];
  /** What the server calls itself (rpc identify, system-state); the URL's host until it says. */
  private host: string;
  private readonly m;
  /** Outlives connections: the last event emitted per class, so a subscribe's replay is not emitted twice. */
  private readonly replay = new ReplayFilter();

  constructor(private readonly cfg: SysadmConfig, ctx: SourceContext) {
    super(cfg, ctx);
    this.url = dialUrl(cfg.url);
    this.host = new URL(this.url).hostname.replace(/^\[|\]$/g, '');
    this.mapping = new SysadmMapping(cfg.name, cfg.metrics, cfg.resource, VERSION, undefined, { ...DEFAULT_LIMITS, ...cfg.limits });
    this.m = {
      auth: selfMetrics.authFailures.labels(cfg.name),
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
    };
  }

  /**
   * Before every connection: if another refused login could bring this address to the server's lockout
   * threshold, wait until the oldest refusal leaves the server's window. The auth schedule alone keeps
   * refusals a minute or more apart; this holds whatever the schedule or the other failures between.
   */
  async prepare(signal: AbortSignal) {
    const { attempts, window } = { ...DEFAULT_LOCKOUT, ...this.cfg.lockout };
    for (;;) {
      const now = this.clock.now();
      while (this.refusals.length && this.refusals[0]! <= now - window) this.refusals.shift();
      if (this.refusals.length < attempts - 1) break;
      const wait = this.refusals[0]! + window - now;
      this.session.log.warn({ refused: this.refusals.length, wait_ms: wait }, 'holding off: one more refused login could lock this address out');
      await this.clock.sleep(wait, signal);
    }
    return { url: this.url, headers: {} };
  }

  onOpen(ws: WebSocket): Promise<void> {
    const conn: Conn = {
      ws, seq: 0, pending: new Map(), identified: false, authenticated: false, subscribed: false, subscribing: false, polling: false,
      settle: undefined, timers: [], pollsOutstanding: 0, reauthenticating: false, tokenUsed: false, token: '', frames: 0, openedAt: Date.now(),
    };
    this.conn = conn;
    const settled = new Promise<void>((resolve, reject) => (conn.settle = { resolve, reject }));
    // identify needs no auth and says what answers (a server or a bridge) and its host name: the
    // credentials go out only once it says "server".
    this.send(conn, 'rpc', 'identify', 'identify', {});
    conn.timers.push(setInterval(() => this.keepalive(conn), this.cfg.identify_interval));
    return settled;
  }

  /**
   * The official client's pair: identify keeps the socket inside the server's idle limit (which counts
   * only our messages, not WebSocket pings), and an authenticated query keeps the token inside its
   * 900 s life (identify does not extend it).
   */
  private keepalive(conn: Conn): void {
    this.send(conn, 'rpc', 'identify', 'identify', {});
    if (conn.authenticated && !conn.reauthenticating) this.send(conn, 'rpc', 'query', 'query', {});
  }

  onClosed(): Error | void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    for (const t of conn.timers) clearInterval(t);
    conn.settle?.reject(new Error('socket closed before the subscription was confirmed'));
    conn.settle = undefined;
    this.m.active.set(0);
    this.forgetToken(conn.token);
    this.replay.reset();
    // A sysadm server that has blocked our address (5 refused logins in a minute: an hour) accepts the
    // socket and closes it at once. Retrying fast would look like a flaky server; say what it likely is.
    if (conn.frames === 0 && !conn.authenticated && Date.now() - conn.openedAt < CLOSED_AT_ONCE_MS) {
      return new LockoutSuspected('the sysadm server closed the socket at once, before answering anything: this address is likely locked out after refused logins (sysadm blocks it for an hour); check the credentials');
    }
  }

  async onStop(ws: WebSocket | undefined): Promise<void> {
    const conn = this.conn;
    if (!ws || !conn) return;
    for (const t of conn.timers) clearInterval(t);
    if (conn.subscribed) this.send(conn, 'events', 'unsubscribe', 'unsubscribe', this.cfg.events);
    // auth_clear gets no reply: the server just forgets the token.
    if (conn.authenticated) this.send(conn, 'rpc', 'auth_clear', undefined, {});
  }

  private send(conn: Conn, namespace: string, name: string, kind: Pending | undefined, args: unknown): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    const id = `ws2otel-${++conn.seq}`;
    if (kind) conn.pending.set(id, kind);
    conn.ws.send(JSON.stringify({ namespace, name, id, args }));
  }

  onFrame(data: Buffer): void {
    const receivedMs = Date.now();
    const conn = this.conn;
    if (!conn) return;
    conn.frames++;
    const msg = parseMessage(data.toString('utf8'));
    if (typeof msg === 'string') return this.session.reject(msg, { bytes: data.length });
    if (msg.namespace === 'events' && msg.name !== 'response') return this.onEvent(msg, receivedMs);
    const kind = conn.pending.get(msg.id);
    if (kind === undefined) return this.session.reject('unknown_type', { namespace: msg.namespace, name: msg.name });
    conn.pending.delete(msg.id);
    const code = errorCode(msg);
    if (code) return this.onError(conn, kind, code);
    switch (kind) {
      case 'identify':
        return this.onIdentify(conn, msg);
      case 'auth':
        return this.onAuthenticated(conn, msg);
      case 'query':
        conn.tokenUsed = true;
        return;
      case 'subscribe':
        conn.subscribing = false;
        conn.subscribed = true;
        conn.tokenUsed = true;
        this.m.active.set(this.cfg.events.length);
        this.session.setEstablished();
        conn.settle?.resolve();
        conn.settle = undefined;
        return;
      case 'poll':
        conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
        conn.tokenUsed = true;
        return this.onPollReply(msg, receivedMs);
      case 'unsubscribe':
        return;
    }
  }

  private onIdentify(conn: Conn, msg: SysadmMessage): void {
    const a = msg.args as { type?: unknown; hostname?: unknown } | undefined;
    if (!conn.identified) {
      if (a?.type !== 'server') return this.notAServer(conn, a?.type);
      conn.identified = true;
      this.sendAuth(conn);
    }
    if (typeof a?.hostname === 'string' && a.hostname !== '') this.host = a.hostname;
  }

  /** A bridge (or anything else) answered: its auth is not the server's. A configuration problem: the slow schedule. */
  private notAServer(conn: Conn, type: unknown): void {
    const what = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : `no type (${typeof type})`;
    const err = new AuthError(
      `${this.url} identifies as ${what}, not "server": a sysadm bridge (port 12149) needs different auth, so no credentials were sent; point url at the server (port ${DEFAULT_PORT})`, 0,
    );
    this.session.warn.warn('not_server', { type: what }, err.message);
    this.fail(conn, err);
  }

  private onAuthenticated(conn: Conn, msg: SysadmMessage): void {
    const args = msg.args;
    if (!Array.isArray(args) || typeof args[0] !== 'string') {
      this.session.reject('bad_payload', { reply: 'auth' });
      conn.settle?.reject(new Error('auth reply is not ["<token>", <seconds>]'));
      conn.settle = undefined;
      return;
    }
    this.learnToken(conn, args[0]);
    conn.authenticated = true;
    conn.reauthenticating = false;
    conn.tokenUsed = false;
    // After a re-login on a live socket the subscriptions still stand (they belong to the socket).
    if (!conn.subscribed && !conn.subscribing) {
      conn.subscribing = true;
      this.replay.subscribed(this.cfg.events);
      this.send(conn, 'events', 'subscribe', 'subscribe', this.cfg.events);
    }
    if (this.cfg.poll.interval > 0 && !conn.polling) {
      conn.polling = true;
      const poll = () => {
        if (conn.pollsOutstanding > 0 || conn.reauthenticating) return; // the last round is still being answered
        for (const action of this.cfg.poll.actions) this.send(conn, 'sysadm', 'systemmanager', 'poll', { action });
        conn.pollsOutstanding = this.cfg.poll.actions.length;
      };
      poll();
      conn.timers.push(setInterval(poll, this.cfg.poll.interval));
    }
  }

  /**
   * A learnt token is a secret only while its connection lives: forgotten when a new login replaces it
   * or the connection ends, so the set of secrets does not grow with every login.
   */
  private learnToken(conn: Conn, token: string): void {
    if (conn.token !== token) this.forgetToken(conn.token);
    conn.token = token;
    registerSecret(token);
  }

  private forgetToken(token: string): void {
    // The configured token stays a secret for as long as the config does.
    if (token !== '' && token !== this.cfg.token) forgetSecret(token);
  }

  private onError(conn: Conn, kind: Pending, code: string): void {
    if (kind === 'poll') conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
    if (kind === 'subscribe') conn.subscribing = false;
    if (kind === 'auth') return this.authRefused(conn, code);
    if (kind === 'identify' && !conn.identified) return this.fail(conn, new Error(`sysadm answered identify with error ${code}`));
    if (code === '401') return this.tokenRefused(conn, kind);
    if (kind === 'subscribe') {
      this.m.failed.inc();
      this.session.warn.warn('subscribe', { code, events: this.cfg.events }, 'sysadm refused the event subscription');
      conn.settle?.reject(new Error(`events subscribe refused with ${code}`));
      conn.settle = undefined;
      return;
    }
    this.session.warn.warn(`error:${kind}:${code}`, { code, kind }, `sysadm answered ${kind} with error ${code}`);
  }

  /**
   * A token-authenticated call answered 401: the token expired (900 s without an authenticated call) or
   * the server restarted and forgot it. With a password, log in again on this socket: not a wrong
   * password, nothing counted. A configured token cannot be renewed: say so, on the slow schedule.
   */
  private tokenRefused(conn: Conn, kind: Pending): void {
    if (this.cfg.token) {
      this.m.auth.inc();
      const err = new AuthError(`${STATIC_TOKEN_REFUSED} (sysadm answered ${kind} with 401); give username and password to log in again by itself`, 401);
      this.session.warn.warn('auth', { call: kind }, err.message);
      return this.fail(conn, err);
    }
    if (conn.reauthenticating) return;
    // The token it has just issued, refused before any call succeeded with it: logging in again at
    // once would only loop. The slow schedule instead.
    if (!conn.tokenUsed) return this.fail(conn, new AuthError(`sysadm refused the token it had just issued (${kind} answered 401)`, 401));
    conn.reauthenticating = true;
    this.session.log.info({ call: kind }, 'sysadm token refused (expired or forgotten by a restart); logging in again');
    this.sendAuth(conn);
  }

  /** A refused login (401, or 403 after too many): counted; this connection ends, backoff decides the next. */
  private authRefused(conn: Conn, code: string): void {
    this.m.auth.inc();
    this.refusals.push(this.clock.now());
    const err = this.cfg.token
      ? new AuthError(`${STATIC_TOKEN_REFUSED} (auth_token answered ${code}); give username and password to log in again by itself`, Number(code) || 0)
      : new AuthError(`sysadm refused auth as ${JSON.stringify(this.cfg.username)} with ${code}`, Number(code) || 0);
    this.session.warn.warn('auth', { code }, `${err.message}: check the credentials`);
    this.fail(conn, err);
  }

  /** Ends this connection with `err` as its cause: it decides the schedule of the next try. */
  private fail(conn: Conn, err: Error): void {
    if (conn.settle) {
      conn.settle.reject(err);
      conn.settle = undefined;
    } else {
      // A re-authentication refused on a live socket: the same slow schedule, not an instant reconnect.
      this.session.failConnection(err);
    }
  }

  private sendAuth(conn: Conn): void {
    if (this.cfg.token) this.send(conn, 'rpc', 'auth_token', 'auth', { token: this.cfg.token });
    else this.send(conn, 'rpc', 'auth', 'auth', { username: this.cfg.username, password: this.cfg.password });
  }

  private onEvent(msg: SysadmMessage, receivedMs: number): void {
    if (msg.name === 'bridge') {
      // Sent to every client, subscribed or not: the bridge's list of relayed connections. Nothing to map.
      this.session.log.debug({ args: briefJson(msg.args, 1000) }, 'sysadm bridge message');
      return;
    }
    if (!isEventClass(msg.name)) return this.session.reject('unknown_type', { namespace: 'events', name: msg.name });
    const args = msg.args;
    // Right after subscribing, a class with no event yet sends its empty cache: "" (or nothing).
    if (args === '' || args === undefined || args === null) return this.replay.empty(msg.name);
    if (typeof args !== 'object' || Array.isArray(args)) return this.session.reject('bad_payload', { event: msg.name });
    if (this.replay.isReplay(msg.name, args)) return this.session.reject('replayed', { event: msg.name });
    let a = args as Record<string, unknown>;
    if (msg.name === 'system-state') {
      const sound = withoutShiftedPools(a);
      for (const pool of sound.shifted) this.session.reject('shifted_columns', { pool: pool.slice(0, 64) });
      a = sound.args;
      if (typeof a.hostname === 'string' && a.hostname !== '') this.host = a.hostname;
    }
    this.session.emit(this.mapping.event(msg.name, a, this.host, receivedMs));
  }

  private onPollReply(msg: SysadmMessage, receivedMs: number): void {
    const args = msg.args;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return this.session.reject('bad_payload', { reply: 'systemmanager' });
    const env = this.mapping.poll(args as Record<string, unknown>, this.host, receivedMs);
    if (env.metrics.length === 0) return this.session.reject('unmapped', { reply: 'systemmanager', keys: Object.keys(args).join(',') });
    this.session.emit(env);
  }
}

export const sysadmSource: SourceFactory<SysadmConfig> = {
  type: 'sysadm',
  schema: sysadmSchema,
  check: checkSysadm,
  create: (config, ctx) => new SysadmSource(config, ctx),
};
