import type WebSocket from 'ws';
import type { Source, SourceContext, SourceFactory } from '../source.js';
import { AuthError, RateLimited, WsSession, type ConnectTarget, type SessionHooks } from '../ws_session.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { VERSION } from '../../version.js';
import { NxapiMapping } from './mapping.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';
import { NxapiClient, NxapiError } from './rest.js';
import { checkNxapi, nxapiSchema, type NxapiConfig } from './config.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';

/**
 * Cisco NX-API REST subscriptions: aaaLogin for a token, the socket at `/socket<token>`, each query
 * issued over HTTP with `?subscription=yes` (its `imdata` is the first snapshot), every subscription
 * refreshed with subscriptionRefresh, the token with aaaRefresh at half its lifetime. A 403, a failed
 * token refresh or a closed socket ends the connection: WsSession then logs in again (prepare) and
 * re-subscribes everything (onOpen).
 *
 * The socket URL carries the token: it is never logged, and neither is the token.
 */
export class NxapiSource implements Source, SessionHooks {
  readonly name: string;
  private readonly session: WsSession;
  private readonly mapping: NxapiMapping;
  private readonly client: NxapiClient;
  private readonly m;

  // Per connection; onClosed forgets them. `generation` tells late REST replies of an old connection apart.
  private generation = 0;
  private ws: WebSocket | undefined;
  private token = '';
  private tokenLifetimeS = 600;
  /** subscriptionId → the query that made it. */
  private readonly subs = new Map<string, string>();
  /** Queries whose subscription failed (or lapsed), retried on every refresh round. */
  private readonly unsubscribed = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly abort = new AbortController();
  /** REST calls run one at a time: aaaRefresh retires the old token, so no call may be in flight with it. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly cfg: NxapiConfig, ctx: SourceContext) {
    this.name = cfg.name;
    this.session = new WsSession(cfg.name, cfg, this, ctx.emitter, ctx.log, ctx.clock);
    this.client = new NxapiClient({
      baseUrl: cfg.url, timeoutMs: cfg.request_timeout, tls: cfg.tls,
    });
    this.mapping = new NxapiMapping(cfg.name, cfg.metrics, cfg.resource, new URL(cfg.url).hostname, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
    this.m = {
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
      auth: selfMetrics.authFailures.labels(cfg.name),
    };
  }

  start(): void {
    this.session.start();
  }

  async stop(): Promise<void> {
    await this.session.stop();
    this.abort.abort();
  }

  status() {
    return this.session.status();
  }

  private get log() {
    return this.session.log;
  }

  /** One REST call at a time, each reading the token when it starts. */
  private rest<T>(call: () => Promise<T>): Promise<T> {
    const p = this.chain.then(call, call);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Before every connection: a fresh login (a reconnect after 403 needs one anyway). */
  async prepare(signal: AbortSignal): Promise<ConnectTarget> {
    const old = this.token;
    this.token = '';
    if (old) {
      // The socket went, the session may not have: do not leave it to count against the switch's limit.
      await this.rest(() => this.client.logout(this.cfg.username, old, signal)).catch(() => undefined);
      forgetSecret(old);
    }
    try {
      const login = await this.rest(() => this.client.login(this.cfg.username, this.cfg.password, signal));
      this.token = login.token;
      registerSecret(login.token);
      this.tokenLifetimeS = login.refreshTimeoutS;
    } catch (err) {
      if (err instanceof AuthError) {
        this.m.auth.inc();
        this.session.warn.warn('auth', { status: err.status }, err.message);
      }
      throw err;
    }
    this.log.debug({ refresh_timeout_s: this.tokenLifetimeS }, 'logged in');
    return { url: this.client.socketUrl(this.token), headers: {} };
  }

  /** The socket is open: subscribe every query over HTTP, emit each snapshot, start the refresh timers. */
  async onOpen(ws: WebSocket): Promise<void> {
    const gen = this.generation;
    this.ws = ws;
    for (const q of this.cfg.queries) this.unsubscribed.add(q);
    await this.subscribePending(gen);
    if (gen !== this.generation) return;
    if (this.subs.size === 0) throw new Error(`none of the ${this.cfg.queries.length} queries could be subscribed`);
    this.session.setEstablished();
    this.refreshTimer = setInterval(() => void this.refreshRound(gen), this.cfg.subscription_refresh_interval);
    this.scheduleTokenRefresh(gen);
  }

  onClosed(): void {
    this.generation++;
    clearInterval(this.refreshTimer);
    clearTimeout(this.tokenTimer);
    this.refreshTimer = this.tokenTimer = undefined;
    this.refreshing = false;
    this.ws = undefined;
    this.subs.clear();
    this.unsubscribed.clear();
    this.m.active.set(0);
  }

  /** NX-API has no unsubscribe (subscriptions lapse); logging out ends the session and its socket. */
  async onStop(): Promise<void> {
    clearInterval(this.refreshTimer);
    clearTimeout(this.tokenTimer);
    const token = this.token;
    if (!token) return;
    this.token = '';
    await this.rest(() => this.client.logout(this.cfg.username, token, AbortSignal.timeout(Math.min(this.cfg.request_timeout, 2000))));
  }

  /** Ends this connection; WsSession reconnects: login, socket, every subscription anew. */
  private restart(gen: number, why: string): void {
    if (gen !== this.generation) return;
    this.session.warn.warn(`restart`, { reason: why }, 'NX-API session lost; logging in again and re-subscribing');
    this.ws?.terminate();
  }

  private async subscribePending(gen: number): Promise<void> {
    for (const query of [...this.unsubscribed]) {
      if (gen !== this.generation) return;
      let res;
      try {
        res = await this.rest(() => this.client.subscribe(query, this.token, this.abort.signal));
      } catch (err) {
        if (gen !== this.generation) return;
        if ((err instanceof NxapiError && err.tokenInvalid) || err instanceof RateLimited) throw err;
        this.m.failed.inc();
        this.session.warn.warn(`subfail:${query}`, { query, err: (err as Error).message }, 'NX-API refused a subscription; retrying on the next refresh round');
        continue;
      }
      if (gen !== this.generation) return;
      const receivedMs = Date.now();
      this.unsubscribed.delete(query);
      this.subs.set(res.id, query);
      this.m.active.set(this.subs.size);
      this.log.debug({ query, subscription_id: res.id, objects: res.imdata.length }, 'subscribed');
      // Outside the session's frame handler: a throw from mapping the snapshot is caught here, the same way.
      try {
        const { envelope, bad } = this.mapping.snapshot(query, res.imdata, receivedMs);
        if (bad) this.session.reject('bad_object', { query, objects: bad });
        if (envelope.metrics.length || envelope.logs.length) this.session.emit(envelope);
      } catch (err) {
        this.session.reject('mapping_error', { query, err: err instanceof Error ? err.name : typeof err });
      }
    }
  }

  /** Every subscription_refresh_interval: refresh each subscription; re-subscribe the ones that lapsed. */
  private async refreshRound(gen: number): Promise<void> {
    if (this.refreshing || gen !== this.generation) return;
    this.refreshing = true;
    try {
      for (const [id, query] of [...this.subs]) {
        try {
          await this.rest(() => this.client.refreshSubscription(id, this.token, this.abort.signal));
        } catch (err) {
          if (gen !== this.generation) return;
          if (err instanceof NxapiError && err.tokenInvalid) return this.restart(gen, err.message);
          // The switch forgot it (missed deadline, its own restart): subscribe that query again.
          this.subs.delete(id);
          this.unsubscribed.add(query);
          this.m.active.set(this.subs.size);
          this.session.warn.warn(`lapsed:${query}`, { query, err: (err as Error).message }, 'subscription refresh failed; re-subscribing');
        }
      }
      if (this.unsubscribed.size && gen === this.generation) await this.subscribePending(gen);
    } catch (err) {
      this.restart(gen, (err as Error).message);
    } finally {
      if (gen === this.generation) this.refreshing = false;
    }
  }

  private scheduleTokenRefresh(gen: number): void {
    const every = this.cfg.token_refresh_interval || (this.tokenLifetimeS * 1000) / 2;
    this.tokenTimer = setTimeout(() => {
      void this.rest(() => this.client.refreshToken(this.token, this.abort.signal)).then(
        (r) => {
          if (gen !== this.generation) return;
          if (r.token !== this.token) forgetSecret(this.token);
          this.token = r.token;
          registerSecret(r.token);
          this.tokenLifetimeS = r.refreshTimeoutS;
          this.log.debug({ refresh_timeout_s: r.refreshTimeoutS }, 'token refreshed');
          this.scheduleTokenRefresh(gen);
        },
        (err: Error) => this.restart(gen, `aaaRefresh failed: ${err.message}`),
      );
    }, every);
  }

  onFrame(data: Buffer): void {
    const receivedMs = Date.now();
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.session.reject('unknown_type', { bytes: data.length });
    const { subscriptionId, imdata } = msg as { subscriptionId?: unknown; imdata?: unknown };
    if (subscriptionId === undefined && imdata === undefined) return this.session.reject('unknown_type', { keys: Object.keys(msg).slice(0, 5).join(',') });
    // The protocol says a list; one id on its own is read as a list of one.
    const ids = typeof subscriptionId === 'string' ? [subscriptionId] : subscriptionId;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => typeof i === 'string') || !Array.isArray(imdata)) {
      return this.session.reject('bad_payload', { bytes: data.length });
    }
    const { envelope, bad } = this.mapping.notification(ids as string[], imdata, receivedMs);
    if (bad) this.session.reject('bad_object', { objects: bad });
    if (envelope.metrics.length || envelope.logs.length) this.session.emit(envelope);
    else if (!bad) this.session.reject('unmapped', { bytes: data.length });
  }
}

export const nxapiSource: SourceFactory<NxapiConfig> = {
  type: 'nxapi',
  schema: nxapiSchema,
  check: checkNxapi,
  create: (config, ctx) => new NxapiSource(config, ctx),
};
