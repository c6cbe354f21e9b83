import type WebSocket from 'ws';
import type { Source, SourceContext, SourceFactory } from '../source.js';
import { AuthError, RateLimited, WsSession, type ConnectTarget, type SessionHooks } from '../ws_session.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { VERSION } from '../../version.js';
import { NxapiMapping } from './mapping.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';
import { NxapiClient, NxapiError, type SubscribeResult } from './rest.js';
import { checkNxapi, controllersOf, nxapiSchema, refreshIntervalMs, refreshTimeoutMs, type NxapiConfig } from './config.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';

/**
 * Cisco NX-API REST subscriptions: aaaLogin for a token, the socket at `/socket<token>`, each query
 * issued over HTTP with `?subscription=yes` (its `imdata` is the first snapshot), every subscription
 * refreshed with subscriptionRefresh, the token with aaaRefresh at half its lifetime. A 403, a failed
 * token refresh or a closed socket ends the connection: WsSession then logs in again (prepare) and
 * re-subscribes everything (onOpen).
 *
 * The socket URL carries the token: it is never logged, and neither is the token.
 *
 * Several controllers (an APIC cluster) are tried in turn: every connection attempt after the first
 * moves to the next one, since an attempt is only made again after a failure or a lost session.
 */

/** Pages of one query at most: past this a result is not a query's but a runaway. */
const MAX_PAGES = 1000;

export class NxapiSource implements Source, SessionHooks {
  readonly name: string;
  private readonly session: WsSession;
  private readonly mapping: NxapiMapping;
  /** One REST client per controller; `current` is the one in use. */
  private readonly clients: NxapiClient[];
  private readonly controllers: string[];
  private current = 0;
  private attempts = 0;
  /** The client the live token came from: its logout must go to the same controller. */
  private tokenClient: NxapiClient | undefined;
  /** Queries the server refused as too big: subscribed page by page from then on. */
  private readonly paged = new Set<string>();
  private readonly m;

  // Per connection; onClosed forgets them. `generation` tells late REST replies of an old connection apart.
  private generation = 0;
  private ws: WebSocket | undefined;
  private token = '';
  private tokenLifetimeS = 600;
  /** subscriptionId → the query that made it (a paged query has one id per page). */
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
    this.controllers = controllersOf(cfg);
    this.clients = this.controllers.map((baseUrl) => new NxapiClient({ baseUrl, timeoutMs: cfg.request_timeout, tls: cfg.tls }));
    // host.name stays the first controller's whichever serves: a cluster is one source of series.
    this.mapping = new NxapiMapping(cfg.name, cfg.metrics, cfg.resource, new URL(this.controllers[0]!).hostname, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
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

  /** The session's state and the controller in use (its origin only: configured URLs carry no credential). */
  status() {
    const st = this.session.status();
    return { ...st, detail: `${st.detail}; controller ${new URL(this.controllers[this.current]!).origin}` };
  }

  private get client(): NxapiClient {
    return this.clients[this.current]!;
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
    const oldClient = this.tokenClient;
    this.token = '';
    this.tokenClient = undefined;
    if (old && oldClient) {
      // The socket went, the session may not have: do not leave it to count against the switch's limit.
      await this.rest(() => oldClient.logout(this.cfg.username, old, signal)).catch(() => undefined);
      forgetSecret(old);
    }
    // Another attempt means the last one failed or its session was lost: try the next controller.
    if (this.attempts++ > 0 && this.clients.length > 1) {
      this.current = (this.current + 1) % this.clients.length;
      this.log.info({ controller: new URL(this.controllers[this.current]!).origin }, 'trying the next controller');
    }
    const client = this.client;
    try {
      const login = await this.rest(() => client.login(this.cfg.username, this.cfg.password, signal));
      this.token = login.token;
      this.tokenClient = client;
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
    return { url: client.socketUrl(this.token), headers: {} };
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
    this.refreshTimer = setInterval(() => void this.refreshRound(gen), refreshIntervalMs(this.cfg));
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
    const client = this.tokenClient;
    if (!token || !client) return;
    this.token = '';
    this.tokenClient = undefined;
    await this.rest(() => client.logout(this.cfg.username, token, AbortSignal.timeout(Math.min(this.cfg.request_timeout, 2000))));
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
      let pages: SubscribeResult[];
      try {
        pages = await this.subscribeQuery(query);
      } catch (err) {
        if (gen !== this.generation) return;
        if ((err instanceof NxapiError && err.tokenInvalid) || err instanceof RateLimited) throw err;
        this.m.failed.inc();
        this.session.warn.warn(`subfail:${query}`, { query, err: (err as Error).message }, 'NX-API refused a subscription; retrying on the next refresh round');
        continue;
      }
      if (gen !== this.generation) return;
      this.unsubscribed.delete(query);
      for (const res of pages) {
        const receivedMs = Date.now();
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
  }

  /**
   * One query subscribed: whole, or, once the server has refused it as too big, page by page with
   * `page` and `page-size` (acitoolkit's way), each page its own subscription.
   */
  private async subscribeQuery(query: string): Promise<SubscribeResult[]> {
    const opts = { refreshTimeoutS: refreshTimeoutMs(this.cfg) / 1000 };
    if (!this.paged.has(query)) {
      try {
        return [await this.rest(() => this.client.subscribe(query, this.token, opts, this.abort.signal))];
      } catch (err) {
        if (!(err instanceof NxapiError && err.tooBig)) throw err;
        this.paged.add(query);
        this.log.info({ query, page_size: this.cfg.page_size }, 'query result too big for one reply; subscribing page by page');
      }
    }
    const size = this.cfg.page_size;
    const pages: SubscribeResult[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await this.rest(() => this.client.subscribe(query, this.token, { ...opts, page: { page, size } }, this.abort.signal));
      pages.push(r);
      if (r.imdata.length < size || (page + 1) * size >= r.total) break;
    }
    return pages;
  }

  /** Every subscription_refresh_interval: refresh each subscription; re-subscribe the ones that lapsed. */
  private async refreshRound(gen: number): Promise<void> {
    if (this.refreshing || gen !== this.generation) return;
    this.refreshing = true;
    try {
      for (const [id, query] of [...this.subs]) {
        if (!this.subs.has(id)) continue; // another page of its query lapsed: re-subscribed whole
        try {
          await this.rest(() => this.client.refreshSubscription(id, this.token, this.abort.signal));
        } catch (err) {
          if (gen !== this.generation) return;
          if (err instanceof NxapiError && err.tokenInvalid) return this.restart(gen, err.message);
          // The switch forgot it (missed deadline, its own restart): subscribe that query again, every page.
          for (const [other, q] of [...this.subs]) if (q === query) this.subs.delete(other);
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
      void this.rest(() => this.client.refreshToken(this.token, this.cfg.platform, this.abort.signal)).then(
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
