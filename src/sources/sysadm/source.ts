import type WebSocket from 'ws';
import type { SourceContext, SourceFactory } from '../source.js';
import { SessionSource } from '../session_source.js';
import { AuthError, LockoutSuspected } from '../ws_session.js';
import { briefJson, DEFAULT_LIMITS } from '../../mapping/values.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { registerSecret } from '../../telemetry/logger.js';
import { VERSION } from '../../version.js';
import { SysadmMapping } from './mapping.js';
import { DEFAULT_LOCKOUT, checkSysadm, dialUrl, sysadmSchema, type SysadmConfig } from './config.js';
import { errorCode, isEventClass, parseMessage, type SysadmMessage } from './protocol.js';

type Pending = 'auth' | 'subscribe' | 'identify' | 'poll' | 'unsubscribe';

/** Per-connection state, dropped when the socket closes. */
interface Conn {
  ws: WebSocket;
  seq: number;
  pending: Map<string, Pending>;
  authenticated: boolean;
  subscribed: boolean;
  /** Settles onOpen: resolved when subscribed, rejected when auth or subscribe is refused. */
  settle: { resolve(): void; reject(err: Error): void } | undefined;
  timers: NodeJS.Timeout[];
  /** systemmanager requests not answered yet: a new round waits for the last one. */
  pollsOutstanding: number;
  reauthenticating: boolean;
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
      ws, seq: 0, pending: new Map(), authenticated: false, subscribed: false, settle: undefined, timers: [], pollsOutstanding: 0, reauthenticating: false,
      frames: 0, openedAt: Date.now(),
    };
    this.conn = conn;
    const settled = new Promise<void>((resolve, reject) => (conn.settle = { resolve, reject }));
    // identify is answered before authentication and tells us the host name; auth follows in order.
    this.send(conn, 'rpc', 'identify', 'identify', {});
    this.sendAuth(conn);
    // The server's idle timer only counts messages from us (WebSocket pings do not reset it).
    conn.timers.push(setInterval(() => this.send(conn, 'rpc', 'identify', 'identify', {}), this.cfg.identify_interval));
    return settled;
  }

  onClosed(): Error | void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    for (const t of conn.timers) clearInterval(t);
    conn.settle?.reject(new Error('socket closed before the subscription was confirmed'));
    conn.settle = undefined;
    this.m.active.set(0);
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
      case 'identify': {
        const h = (msg.args as { hostname?: unknown } | undefined)?.hostname;
        if (typeof h === 'string' && h !== '') this.host = h;
        return;
      }
      case 'auth':
        return this.onAuthenticated(conn, msg);
      case 'subscribe':
        conn.subscribed = true;
        this.m.active.set(this.cfg.events.length);
        this.session.setEstablished();
        conn.settle?.resolve();
        conn.settle = undefined;
        return;
      case 'poll':
        conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
        return this.onPollReply(msg, receivedMs);
      case 'unsubscribe':
        return;
    }
  }

  private onAuthenticated(conn: Conn, msg: SysadmMessage): void {
    const args = msg.args;
    if (!Array.isArray(args) || typeof args[0] !== 'string') {
      this.session.reject('bad_payload', { reply: 'auth' });
      conn.settle?.reject(new Error('auth reply is not ["<token>", <seconds>]'));
      conn.settle = undefined;
      return;
    }
    registerSecret(args[0]);
    const first = !conn.authenticated;
    conn.authenticated = true;
    conn.reauthenticating = false;
    if (!first) return; // a re-authentication after an expired token: subscriptions still stand
    this.send(conn, 'events', 'subscribe', 'subscribe', this.cfg.events);
    if (this.cfg.poll.interval > 0) {
      const poll = () => {
        if (conn.pollsOutstanding > 0 || conn.reauthenticating) return; // the last round is still being answered
        for (const action of this.cfg.poll.actions) this.send(conn, 'sysadm', 'systemmanager', 'poll', { action });
        conn.pollsOutstanding = this.cfg.poll.actions.length;
      };
      poll();
      conn.timers.push(setInterval(poll, this.cfg.poll.interval));
    }
  }

  private onError(conn: Conn, kind: Pending, code: string): void {
    if (kind === 'poll') conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
    if (kind === 'auth') return this.authRefused(conn, code);
    if (code === '401') {
      if (!conn.subscribed) return this.authRefused(conn, code);
      if (kind === 'poll' && !conn.reauthenticating) {
        // The token expired (900 s without an authenticated call): log in again on this socket; the
        // subscriptions belong to the socket and still stand.
        conn.reauthenticating = true;
        this.session.log.info('sysadm token expired; authenticating again');
        this.sendAuth(conn);
      }
      return;
    }
    if (kind === 'subscribe') {
      this.m.failed.inc();
      this.session.warn.warn('subscribe', { code, events: this.cfg.events }, 'sysadm refused the event subscription');
      conn.settle?.reject(new Error(`events subscribe refused with ${code}`));
      conn.settle = undefined;
      return;
    }
    this.session.warn.warn(`error:${kind}:${code}`, { code, kind }, `sysadm answered ${kind} with error ${code}`);
  }

  /** A refused login (401, or 403 after too many): counted; this connection ends, backoff decides the next. */
  private authRefused(conn: Conn, code: string): void {
    this.m.auth.inc();
    this.refusals.push(this.clock.now());
    const how = this.cfg.token ? 'auth_token' : `auth as ${JSON.stringify(this.cfg.username)}`;
    this.session.warn.warn('auth', { code }, `sysadm refused ${how} with ${code}: check the credentials`);
    const err = new AuthError(`sysadm refused ${how} with ${code}`, Number(code) || 0);
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
    if (args === '' || args === undefined || args === null) return;
    if (typeof args !== 'object' || Array.isArray(args)) return this.session.reject('bad_payload', { event: msg.name });
    const a = args as Record<string, unknown>;
    if (msg.name === 'system-state' && typeof a.hostname === 'string' && a.hostname !== '') this.host = a.hostname;
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
