import type WebSocket from 'ws';
import type { Attributes } from '../../model.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Source, SourceContext, SourceFactory, SourceStatus } from '../source.js';
import { WsSession, type ConnectTarget, type SessionHooks } from '../ws_session.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { VERSION } from '../../version.js';
import { SmcMapping, statusIdentity } from './mapping.js';
import { DEFAULT_LIMITS, briefJson } from '../../mapping/values.js';
import { SmcLogin, socketAuth, type SmcSession } from './login.js';
import { checkSmc, smcSchema, type SmcConfig } from './config.js';

/**
 * Forcepoint SMC: one REST login (JSESSIONID cookie, or an Authorization token when the SMC tracks
 * sessions by SSL session) shared by two sockets. The notification socket carries `{"context": …}`
 * channels of element change events, the status socket `{"element": href}` subscriptions of element
 * status and `{"context": type}` ones for whole element families. Each reply names a
 * `subscription_id`, counted from 0 per connection.
 */
export class SmcSource implements Source {
  readonly name: string;
  readonly login: SmcLogin;
  private readonly sockets: SmcSocket[] = [];
  private readonly log: Logger;

  constructor(cfg: SmcConfig, ctx: SourceContext) {
    this.name = cfg.name;
    this.log = ctx.log;
    this.login = new SmcLogin(cfg, ctx.log);
    const resource: Attributes = { 'smc.server.address': new URL(cfg.url).host, ...cfg.resource };
    const mapping = new SmcMapping(cfg.name, cfg.metrics, resource, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
    const subs = {
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
    };
    const active = () => subs.active.set(this.sockets.reduce((n, s) => n + s.confirmedCount, 0));
    const common = { cfg, login: this.login, mapping, ctx, failed: subs.failed, onActive: active };
    if (cfg.contexts.length) {
      this.sockets.push(new SmcSocket({ ...common, kind: 'notification', path: cfg.notification_path, commands: cfg.contexts.map((c) => ({ context: c })) }));
    }
    if (cfg.elements.length || cfg.status_contexts.length) {
      const commands: Command[] = [...cfg.elements.map((e) => ({ element: e })), ...cfg.status_contexts.map((c) => ({ context: c }))];
      this.sockets.push(new SmcSocket({ ...common, kind: 'status', path: cfg.status_path, commands }));
    }
  }

  start(): void {
    for (const s of this.sockets) s.session.start();
  }

  /** Unsubscribe on each socket, close both, then log out (`PUT /logout`). */
  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => s.session.stop()));
    await this.login.logoutAll();
    this.log.info('stopped');
  }

  status(): SourceStatus {
    const parts = this.sockets.map((s) => ({ kind: s.kind, st: s.session.status() }));
    // Both sockets share the login: a refused or rate-limited login is the source's problem.
    const problem = parts.find((p) => p.st.problem)?.st.problem;
    return {
      connected: parts.every((p) => p.st.connected),
      detail: parts.map((p) => `${p.kind}: ${p.st.detail}`).join('; '),
      ...(problem ? { problem } : {}),
    };
  }

  /** The socket of that kind (tests). */
  socket(kind: 'notification' | 'status'): SmcSocket | undefined {
    return this.sockets.find((s) => s.kind === kind);
  }
}

type Command = { context: string } | { element: string };

/** Most element statuses one socket keeps for repeats. */
const MAX_REPEATED = 10_000;

interface Subscription {
  id: number;
  command: Command;
}

interface SocketOptions {
  kind: 'notification' | 'status';
  path: string;
  commands: Command[];
  cfg: SmcConfig;
  login: SmcLogin;
  mapping: SmcMapping;
  ctx: SourceContext;
  failed: { inc(): void };
  onActive(): void;
}

interface Frame {
  success?: unknown;
  failure?: unknown;
  subscription_id?: unknown;
  event?: unknown;
  events?: unknown;
  status?: unknown;
}

/** One of the two sockets: its own WsSession, subscriptions and per-connection subscription ids. */
export class SmcSocket implements SessionHooks {
  readonly kind: 'notification' | 'status';
  readonly session: WsSession;
  private held: SmcSession | undefined;
  private stopping = false;
  /** Commands sent on this connection and not refused, in order: the server numbers them 0, 1, 2, … */
  private sent: Command[] = [];
  /** Sent and not yet answered with success or failure (answers come in order). */
  private pending: Command[] = [];
  /** subscription_id → what it subscribed, from the `success` replies. */
  private readonly confirmed = new Map<number, Subscription>();
  /**
   * The last status of each element on this connection (re-emitted, see status_repeat_interval), by
   * subscription_id, and for a family subscription by its id and the element the frame named.
   */
  private readonly lastStatus = new Map<string, { href: string | undefined; status: Record<string, unknown>; family?: string }>();
  private repeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SocketOptions) {
    this.kind = o.kind;
    this.session = new WsSession(`${o.cfg.name}/${o.kind}`, o.cfg, this, o.ctx.emitter, o.ctx.log.child({ socket: o.kind }), o.ctx.clock);
  }

  get confirmedCount(): number {
    return this.confirmed.size;
  }

  /** subscription_id → command, as confirmed on the live connection (tests, status). */
  subscriptions(): Map<number, Command> {
    return new Map([...this.confirmed].map(([id, s]) => [id, s.command]));
  }

  async prepare(signal: AbortSignal): Promise<ConnectTarget> {
    const s = await this.o.login.acquire(signal);
    this.held = s;
    // No Origin header: the SMC's CORS filter refuses an upgrade that carries one (ws sends none by default).
    return { url: this.o.login.socketUrl(this.o.path, s.version), ...socketAuth(s) };
  }

  onOpen(ws: WebSocket): void {
    const every = this.o.cfg.status_repeat_interval;
    if (this.kind === 'status' && every > 0) {
      clearInterval(this.repeatTimer);
      this.repeatTimer = setInterval(() => this.repeat(), every);
      this.repeatTimer.unref();
    }
    for (const c of this.o.commands) {
      this.sent.push(c);
      this.pending.push(c);
      ws.send(JSON.stringify(c));
    }
  }

  onClosed(): void {
    clearInterval(this.repeatTimer);
    this.repeatTimer = undefined;
    this.lastStatus.clear();
    this.sent = [];
    this.pending = [];
    this.confirmed.clear();
    this.o.onActive();
    const s = this.held;
    this.held = undefined;
    if (s) this.o.login.release(s, !this.stopping);
  }

  async onStop(ws: WebSocket | undefined): Promise<void> {
    this.stopping = true;
    clearInterval(this.repeatTimer);
    if (!ws) return;
    for (const id of this.confirmed.keys()) ws.send(JSON.stringify({ unsubscribe: id }));
  }

  onFrame(data: Buffer): void {
    const receivedMs = Date.now();
    let f: Frame;
    try {
      f = JSON.parse(data.toString('utf8'));
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return this.session.reject('malformed_json', { bytes: data.length });
    const id = typeof f.subscription_id === 'number' ? f.subscription_id : undefined;

    if (f.failure !== undefined) return this.onFailure(f.failure);
    if (f.success !== undefined) return this.onSuccess(id);
    if (f.event !== undefined || f.events !== undefined) {
      if (id === undefined) return this.session.reject('bad_event', { why: 'no subscription_id' });
      const sub = this.lookup(id);
      const env = this.o.mapping.events(f, { id, ...(sub && 'context' in sub.command ? { context: sub.command.context } : {}) }, receivedMs);
      if (!env) return this.session.reject('bad_event');
      this.session.setEstablished();
      return this.session.emit(env);
    }
    if (f.status !== undefined) {
      const inner = (f.status as { status?: unknown } | null)?.status;
      if (id === undefined || typeof inner !== 'object' || inner === null || Array.isArray(inner)) return this.session.reject('bad_status');
      const sub = this.lookup(id);
      const status = inner as Record<string, unknown>;
      let href: string | undefined;
      let family: string | undefined;
      let key = String(id);
      if (sub && 'element' in sub.command) href = sub.command.element;
      else {
        // A family subscription (or an id never confirmed): only the frame can say which element it is.
        family = sub && 'context' in sub.command ? sub.command.context : undefined;
        const who = statusIdentity(f as Record<string, unknown>, status);
        if (family !== undefined && !who) return this.session.reject('no_element', { subscription_id: id });
        href = who?.href;
        key = `${id} ${href ?? who?.name ?? ''}`;
      }
      const env = this.o.mapping.status(href, status, receivedMs, family);
      if (env.metrics.length === 0) return this.session.reject('unmapped', { subscription_id: id });
      // Bounded: a family may be thousands of elements, and names come from frames.
      if (!this.lastStatus.has(key) && this.lastStatus.size >= MAX_REPEATED) this.lastStatus.delete(this.lastStatus.keys().next().value!);
      this.lastStatus.set(key, { href, status, ...(family !== undefined ? { family } : {}) });
      this.session.setEstablished();
      return this.session.emit(env);
    }
    return this.session.reject('unknown_type', { keys: Object.keys(f).slice(0, 5).join(',') });
  }

  /**
   * The status socket is quiet while nothing changes; the last status still holds as long as the
   * subscription is live, so it is emitted again, stamped now. A closed socket stops the repeats.
   */
  private repeat(): void {
    const now = Date.now();
    for (const { href, status, family } of this.lastStatus.values()) this.session.emit(this.o.mapping.status(href, status, now, family));
  }

  /** The confirmed subscription, else the id's place in the order sent (ids count from 0 per connection). */
  private lookup(id: number): Subscription | undefined {
    const c = this.confirmed.get(id);
    if (c) return c;
    const guess = this.sent[id];
    return guess ? { id, command: guess } : undefined;
  }

  private onSuccess(id: number | undefined): void {
    const command = this.pending.shift();
    if (!command) return; // an unsubscribe being acknowledged during stop
    if (id === undefined) {
      this.session.warn.warn('success-no-id', { command }, 'subscription confirmed without a subscription_id');
      return;
    }
    this.confirmed.set(id, { id, command });
    this.o.onActive();
    this.session.log.debug({ subscription_id: id, command }, 'subscribed');
    // Established once every command is answered (some may have failed: those are counted apart).
    if (this.pending.length === 0) this.session.setEstablished();
  }

  private onFailure(failure: unknown): void {
    const command = this.pending.shift();
    // A refused command gets no subscription_id: later ids count past it.
    const at = command ? this.sent.indexOf(command) : -1;
    if (at >= 0) this.sent.splice(at, 1);
    this.o.failed.inc();
    const text = typeof failure === 'string' ? failure.slice(0, 500) : briefJson(failure, 500);
    this.session.warn.warn(`failure:${JSON.stringify(command ?? null)}`, { failure: text, command }, 'the SMC refused a command');
    if (this.pending.length === 0 && this.confirmed.size > 0) this.session.setEstablished();
  }
}

export const smcSource: SourceFactory<SmcConfig> = {
  type: 'smc',
  schema: smcSchema,
  check: checkSmc,
  create: (config, ctx) => new SmcSource(config, ctx),
};
