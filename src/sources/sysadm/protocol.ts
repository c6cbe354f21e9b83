import type { Attributes } from '../../model.js';
import type { Logger } from '../../telemetry/logger.js';
import type { SecretScope } from '../../telemetry/secrets.js';
import { AuthError, LockoutSuspected } from '../../net/errors.js';
import type { ConnectTarget, FrameInfo, Link, Meaning, Opening, Protocol, Rejection } from '../protocol.js';
import type { SlowClock } from '../session.js';
import type { SourceContext } from '../source.js';
import { sourceContext } from '../protocol_source.js';
import { briefJson, DEFAULT_LIMITS } from '../../mapping/values.js';
import { VERSION } from '../../version.js';
import { SysadmMapping, withoutShiftedPools } from './mapping.js';
import { DEFAULT_LOCKOUT, DEFAULT_PORT, dialUrl, type SysadmConfig } from './config.js';
import { ReplayFilter } from './replay.js';
import { errorCode, isEventClass, toMessage, type SysadmMessage } from './wire.js';

/** What /readyz and the log say when the configured token is refused: nothing can renew it. */
export const STATIC_TOKEN_REFUSED = 'static token refused; it expired or the server restarted';

/** Closed this soon after opening, with not one frame read: the server did not even answer identify. */
const CLOSED_AT_ONCE_MS = 5000;

type Pending = 'auth' | 'subscribe' | 'identify' | 'poll' | 'unsubscribe' | 'query';

/** Per-connection state, dropped when the socket closes. */
interface Conn {
  link: Link;
  seq: number;
  pending: Map<string, Pending>;
  /** The classes each subscribe on its way asked for, by request id: its answer acknowledges them. */
  subscribing: Map<string, string[]>;
  /** The first identify was answered by a server (not a bridge): only then are credentials sent. */
  identified: boolean;
  authenticated: boolean;
  subscribed: boolean;
  /** The first poll round went out (with the login): from then on the poll timer sends the rounds. */
  polling: boolean;
  /** systemmanager requests not answered yet: a new round waits for the last one. */
  pollsOutstanding: number;
  reauthenticating: boolean;
  /** An authenticated call succeeded since the last login: a 401 now means the token lapsed. */
  tokenUsed: boolean;
  /** This login's token, in a secret scope of its own: ended by the next login and when the connection ends. */
  login: SecretScope | undefined;
  /** Frames read on this connection: a blocked address is accepted and closed before any. */
  frames: number;
  openedAt: number;
}

/**
 * The TrueOS/FreeBSD sysadm server, frame in → meaning out: TLS WebSocket, `rpc identify` (a server,
 * not a bridge) before `rpc auth` (or `auth_token`), `events subscribe`, event pushes with hyphenated
 * names and id "", identify + an authenticated `rpc query` every `identify_interval` (the socket's idle
 * limit and the token's 900 s), and optional `sysadm systemmanager` polls. Its timers only send on the
 * link and deliver what a reply meant; the session does the rest.
 */
export class SysadmProtocol implements Protocol {
  private readonly mapping: SysadmMapping;
  readonly url: string;
  private conn: Conn | undefined;
  /** When logins were refused (the slow clock's time), oldest first, within the server's lockout window. */
  private readonly refusals: number[] = [];
  /** What the server calls itself (rpc identify, system-state); the URL's host until it says. */
  private host: string;
  /** Outlives connections: the last event emitted per class, so a subscribe's replay is not emitted twice. */
  private readonly replay = new ReplayFilter();
  private readonly log: Logger;
  private readonly clock: SlowClock;
  private readonly secrets: SecretScope;
  private readonly authFailures;

  constructor(private readonly cfg: SysadmConfig, context: SourceContext) {
    const ctx = sourceContext(cfg, context);
    this.log = ctx.log;
    this.clock = ctx.clock;
    this.secrets = ctx.secrets;
    this.authFailures = ctx.metrics.authFailures.labels(cfg.name);
    this.url = dialUrl(cfg.url);
    this.host = new URL(this.url).hostname.replace(/^\[|\]$/g, '');
    this.mapping = new SysadmMapping(cfg.name, cfg.metrics, cfg.resource, VERSION, undefined, { ...DEFAULT_LIMITS, ...cfg.limits });
  }

  resource(): Attributes {
    return this.mapping.resource(this.host);
  }

  /**
   * Before every connection: if another refused login could bring this address to the server's lockout
   * threshold, wait until the oldest refusal leaves the server's window. The auth schedule alone keeps
   * refusals a minute or more apart; this holds whatever the schedule or the other failures between.
   */
  async connect(signal: AbortSignal): Promise<ConnectTarget> {
    const { attempts, window } = { ...DEFAULT_LOCKOUT, ...this.cfg.lockout };
    const { clock, log } = this;
    for (;;) {
      const now = clock.now();
      while (this.refusals.length && this.refusals[0]! <= now - window) this.refusals.shift();
      if (this.refusals.length < attempts - 1) break;
      const wait = this.refusals[0]! + window - now;
      log.warn({ refused: this.refusals.length, wait_ms: wait }, 'holding off: one more refused login could lock this address out');
      await clock.sleep(wait, signal);
    }
    return { url: this.url, headers: {} };
  }

  open(link: Link): Opening {
    const conn: Conn = {
      link, seq: 0, pending: new Map(), subscribing: new Map(), identified: false, authenticated: false, subscribed: false, polling: false,
      pollsOutstanding: 0, reauthenticating: false, tokenUsed: false, login: undefined, frames: 0, openedAt: Date.now(),
    };
    this.conn = conn;
    this.every(conn, this.cfg.identify_interval, () => this.keepalive(conn));
    // Polls start with the login (its reply sends the first round); a round waits for the last one's answers.
    if (this.cfg.poll.interval > 0) {
      this.every(conn, this.cfg.poll.interval, () => {
        if (conn.polling) for (const f of this.pollRound(conn)) conn.link.send(f);
      });
    }
    // identify needs no auth and says what answers (a server or a bridge) and its host name: the
    // credentials go out only once it says "server". Each event class is a subscription of its own.
    return { send: [this.request(conn, 'rpc', 'identify', 'identify', {})], expect: [...this.cfg.events] };
  }

  /** A timer for this connection only: it stops when the connection ends. */
  private every(conn: Conn, ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    conn.link.signal.addEventListener('abort', () => clearInterval(t), { once: true });
  }

  /**
   * The official client's pair: identify keeps the socket inside the server's idle limit (which counts
   * only our messages, not WebSocket pings), and an authenticated query keeps the token inside its
   * 900 s life (identify does not extend it).
   */
  private keepalive(conn: Conn): void {
    conn.link.send(this.request(conn, 'rpc', 'identify', 'identify', {}));
    if (conn.authenticated && !conn.reauthenticating) conn.link.send(this.request(conn, 'rpc', 'query', 'query', {}));
  }

  /** One request frame; `kind` (when given) is what its reply will be read as. */
  private request(conn: Conn, namespace: string, name: string, kind: Pending | undefined, args: unknown): string {
    const id = `ws2otel-${++conn.seq}`;
    if (kind) conn.pending.set(id, kind);
    return JSON.stringify({ namespace, name, id, args });
  }

  /** Asks again for one class that was refused or never answered; before the login it comes with the rest. */
  resubscribe(name: string, link: Link): Meaning {
    const conn = this.conn;
    if (!conn || conn.link !== link || !conn.authenticated) return { control: true };
    return { send: [this.subscribe(conn, [name])] };
  }

  private subscribe(conn: Conn, classes: string[]): string {
    this.replay.subscribed(classes);
    const frame = this.request(conn, 'events', 'subscribe', 'subscribe', classes);
    conn.subscribing.set(`ws2otel-${conn.seq}`, classes);
    return frame;
  }

  closed(): Error | void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    conn.login?.end();
    this.replay.reset();
    // A sysadm server that has blocked our address (5 refused logins in 10 minutes: an hour) accepts the
    // socket and closes it at once. Retrying fast would look like a flaky server; say what it likely is.
    if (conn.frames === 0 && !conn.authenticated && Date.now() - conn.openedAt < CLOSED_AT_ONCE_MS) {
      return new LockoutSuspected('the sysadm server closed the socket at once, before answering anything: this address is likely locked out after refused logins (sysadm blocks it for an hour); check the credentials');
    }
  }

  async stop(link: Link | undefined): Promise<void> {
    const conn = this.conn;
    if (!link || !conn) return;
    if (conn.subscribed) link.send(this.request(conn, 'events', 'unsubscribe', 'unsubscribe', this.cfg.events));
    // auth_clear gets no reply: the server just forgets the token.
    if (conn.authenticated) link.send(this.request(conn, 'rpc', 'auth_clear', undefined, {}));
  }

  frame(value: unknown, info: FrameInfo): Meaning {
    const conn = this.conn;
    if (!conn) return { control: true };
    conn.frames++;
    const msg = toMessage(value);
    if (typeof msg === 'string') return { rejects: [{ reason: msg }] };
    if (msg.namespace === 'events' && msg.name !== 'response') return this.onEvent(msg, info.receivedMs);
    const kind = conn.pending.get(msg.id);
    if (kind === undefined) return { rejects: [{ reason: 'unknown_type', detail: { namespace: msg.namespace, name: msg.name } }] };
    conn.pending.delete(msg.id);
    const classes = conn.subscribing.get(msg.id) ?? [];
    conn.subscribing.delete(msg.id);
    const code = errorCode(msg);
    if (code) return this.onError(conn, kind, code, classes);
    switch (kind) {
      case 'identify':
        return this.onIdentify(conn, msg);
      case 'auth':
        return this.onAuthenticated(conn, msg);
      case 'subscribe':
        conn.subscribed = true;
        conn.tokenUsed = true;
        return { acks: classes.map((name) => ({ name, ok: true })) };
      case 'poll':
        conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
        conn.tokenUsed = true;
        return this.onPollReply(msg, info.receivedMs);
      case 'query':
        conn.tokenUsed = true;
        return { control: true };
      case 'unsubscribe':
        return { control: true };
    }
  }

  private onIdentify(conn: Conn, msg: SysadmMessage): Meaning {
    const a = msg.args as { type?: unknown; hostname?: unknown } | undefined;
    let send: string[] | undefined;
    if (!conn.identified) {
      if (a?.type !== 'server') return this.notAServer(a?.type);
      conn.identified = true;
      send = [this.auth(conn)];
    }
    if (typeof a?.hostname === 'string' && a.hostname !== '') this.host = a.hostname;
    return send ? { send } : { control: true };
  }

  /** A bridge (or anything else) answered: its auth is not the server's. A configuration problem: the slow schedule. */
  private notAServer(type: unknown): Meaning {
    const what = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : `no type (${typeof type})`;
    const msg = `${this.url} identifies as ${what}, not "server": a sysadm bridge (port 12149) needs different auth, so no credentials were sent; point url at the server (port ${DEFAULT_PORT})`;
    this.log.warn({ type: what }, msg);
    return { fail: new AuthError(msg, 0) };
  }

  private onAuthenticated(conn: Conn, msg: SysadmMessage): Meaning {
    const args = msg.args;
    if (!Array.isArray(args) || typeof args[0] !== 'string') {
      return { rejects: [{ reason: 'bad_payload', detail: { reply: 'auth' } }], fail: new Error('auth reply is not ["<token>", <seconds>]') };
    }
    this.learnToken(conn, args[0]);
    conn.authenticated = true;
    conn.reauthenticating = false;
    conn.tokenUsed = false;
    const send: string[] = [];
    // After a re-login on a live socket the subscriptions still stand (they belong to the socket).
    if (!conn.subscribed && conn.subscribing.size === 0) send.push(this.subscribe(conn, [...this.cfg.events]));
    if (this.cfg.poll.interval > 0 && !conn.polling) {
      conn.polling = true;
      send.push(...this.pollRound(conn));
    }
    return send.length ? { send } : { control: true };
  }

  /** One round of systemmanager polls, or none while the last is unanswered or a re-login is under way. */
  private pollRound(conn: Conn): string[] {
    if (conn.pollsOutstanding > 0 || conn.reauthenticating) return [];
    conn.pollsOutstanding = this.cfg.poll.actions.length;
    return this.cfg.poll.actions.map((action) => this.request(conn, 'sysadm', 'systemmanager', 'poll', { action }));
  }

  /**
   * A learnt token is a secret only while its login lives: each login gets a scope of its own below the
   * source's, ended by the next login and when the connection ends, so re-logins never grow the set. (A
   * configured token stays in the source's own scope.)
   */
  private learnToken(conn: Conn, token: string): void {
    conn.login?.end();
    conn.login = this.secrets.session('token');
    conn.login.add(token);
  }

  private onError(conn: Conn, kind: Pending, code: string, classes: string[]): Meaning {
    if (kind === 'poll') conn.pollsOutstanding = Math.max(0, conn.pollsOutstanding - 1);
    if (kind === 'auth') return this.authRefused(code);
    if (kind === 'identify' && !conn.identified) return { fail: new Error(`sysadm answered identify with error ${code}`) };
    if (code === '401') {
      // The classes of a subscribe refused for the token are asked for again after the new login.
      if (kind === 'subscribe' && !conn.subscribed) conn.subscribing.clear();
      return this.tokenRefused(conn, kind);
    }
    if (kind === 'subscribe') return { acks: classes.map((name) => ({ name, ok: false, detail: `events subscribe refused with ${code}` })) };
    this.log.warn({ code, kind }, `sysadm answered ${kind} with error ${code}`);
    return { control: true };
  }

  /**
   * A token-authenticated call answered 401: the token expired (900 s without an authenticated call) or
   * the server restarted and forgot it. With a password, log in again on this socket: not a wrong
   * password, nothing counted. A configured token cannot be renewed: say so, on the slow schedule.
   */
  private tokenRefused(conn: Conn, kind: Pending): Meaning {
    if (this.cfg.token) {
      const msg = `${STATIC_TOKEN_REFUSED} (sysadm answered ${kind} with 401); give username and password to log in again by itself`;
      this.log.warn({ call: kind }, msg);
      this.authFailures.inc();
      return { fail: new AuthError(msg, 401) };
    }
    if (conn.reauthenticating) return { control: true };
    // The token it has just issued, refused before any call succeeded with it: logging in again at
    // once would only loop. The slow schedule instead.
    if (!conn.tokenUsed) return { fail: new AuthError(`sysadm refused the token it had just issued (${kind} answered 401)`, 0) };
    conn.reauthenticating = true;
    this.log.info({ call: kind }, 'sysadm token refused (expired or forgotten by a restart); logging in again');
    return { send: [this.auth(conn)] };
  }

  /** A refused login (401, or 403 after too many): counted; this connection ends, the auth schedule decides the next. */
  private authRefused(code: string): Meaning {
    this.refusals.push(this.clock.now());
    this.authFailures.inc();
    const err = this.cfg.token
      ? new AuthError(`${STATIC_TOKEN_REFUSED} (auth_token answered ${code}); give username and password to log in again by itself`, Number(code) || 0)
      : new AuthError(`sysadm refused auth as ${JSON.stringify(this.cfg.username)} with ${code}`, Number(code) || 0);
    this.log.warn({ code }, `${err.message}: check the credentials`);
    return { fail: err };
  }

  private auth(conn: Conn): string {
    if (this.cfg.token) return this.request(conn, 'rpc', 'auth_token', 'auth', { token: this.cfg.token });
    return this.request(conn, 'rpc', 'auth', 'auth', { username: this.cfg.username, password: this.cfg.password });
  }

  private onEvent(msg: SysadmMessage, receivedMs: number): Meaning {
    if (msg.name === 'bridge') {
      // Sent to every client, subscribed or not: the bridge's list of relayed connections. Nothing to map.
      this.log.debug({ args: briefJson(msg.args, 1000) }, 'sysadm bridge message');
      return { control: true };
    }
    if (!isEventClass(msg.name)) return { rejects: [{ reason: 'unknown_type', detail: { namespace: 'events', name: msg.name } }] };
    const args = msg.args;
    // Right after subscribing, a class with no event yet sends its empty cache: "" (or nothing).
    if (args === '' || args === undefined || args === null) {
      this.replay.empty(msg.name);
      return { control: true };
    }
    if (typeof args !== 'object' || Array.isArray(args)) return { rejects: [{ reason: 'bad_payload', detail: { event: msg.name } }] };
    if (this.replay.isReplay(msg.name, args)) return { rejects: [{ reason: 'replayed', detail: { event: msg.name } }] };
    let a = args as Record<string, unknown>;
    const rejects: Rejection[] = [];
    if (msg.name === 'system-state') {
      const sound = withoutShiftedPools(a);
      for (const pool of sound.shifted) rejects.push({ reason: 'shifted_columns', detail: { pool: pool.slice(0, 64) } });
      a = sound.args;
      if (typeof a.hostname === 'string' && a.hostname !== '') this.host = a.hostname;
    }
    return { envelopes: [this.mapping.event(msg.name, a, this.host, receivedMs)], ...(rejects.length ? { rejects } : {}) };
  }

  private onPollReply(msg: SysadmMessage, receivedMs: number): Meaning {
    const args = msg.args;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { rejects: [{ reason: 'bad_payload', detail: { reply: 'systemmanager' } }] };
    const env = this.mapping.poll(args as Record<string, unknown>, this.host, receivedMs);
    if (env.metrics.length === 0) return { rejects: [{ reason: 'unmapped', detail: { reply: 'systemmanager', keys: Object.keys(args).join(',') } }] };
    return { envelopes: [env] };
  }
}
