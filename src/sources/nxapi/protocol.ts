import type { Attributes, Envelope } from '../../model.js';
import type { Logger } from '../../telemetry/logger.js';
import { SampledWarn } from '../../telemetry/logger.js';
import type { SecretScope } from '../../telemetry/secrets.js';
import { HttpClient } from '../../net/http.js';
import { RateLimited } from '../../net/errors.js';
import { VERSION } from '../../version.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';
import type { Ack, ConnectTarget, FrameInfo, Link, Meaning, Opening, Protocol, Rejection } from '../protocol.js';
import type { SourceContext } from '../source.js';
import { sourceContext } from '../protocol_source.js';
import { NxapiMapping } from './mapping.js';
import { NxapiClient, NxapiError, type SubscribeResult } from './rest.js';
import { controllersOf, refreshIntervalMs, refreshTimeoutMs, type NxapiConfig } from './config.js';

/** Pages of one query at most: past this a result is not a query's but a runaway. */
const MAX_PAGES = 1000;

/**
 * Cisco NX-API REST subscriptions as a Protocol (frame in → Meaning out): aaaLogin for a token
 * (`connect`), the socket at `/socket<token>`, each query issued over HTTP with `?subscription=yes`
 * whose `imdata` is the snapshot (`open`, delivered through the link), every subscription refreshed
 * with subscriptionRefresh and the token with aaaRefresh at half its lifetime (timers that deliver
 * through the link). A 403, a failed token refresh or a closed socket ends the connection (`fail`): the
 * session then connects again, which logs in again and re-subscribes everything.
 *
 * Several controllers (an APIC cluster) are tried in turn: every connect after the first moves to the
 * next one, since a connect is only made again after a failure or a lost session.
 *
 * The token is a secret of this login's scope (ended at the next login and at stop); the socket URL
 * carries it and is never logged.
 */
export class NxapiProtocol implements Protocol {
  private readonly mapping: NxapiMapping;
  private readonly http: HttpClient;
  /** One REST client per controller; `current` is the one in use. */
  private readonly clients: NxapiClient[];
  private current = 0;
  private attempts = 0;
  private readonly log: Logger;
  private readonly warn: SampledWarn;
  private readonly secrets: SecretScope;
  /** This login's token (and its refreshed successors): ended at the next login and at stop. */
  private login: SecretScope | undefined;
  private token = '';
  /** The client the live token came from: its logout must go to the same controller. */
  private tokenClient: NxapiClient | undefined;
  private tokenLifetimeS = 600;
  /** Queries the server refused as too big: subscribed page by page from then on. */
  private readonly paged = new Set<string>();
  /** Per connection: subscriptionId → the query that made it (a paged query has one id per page). */
  private readonly subs = new Map<string, string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** REST calls run one at a time: aaaRefresh retires the old token, so no call may be in flight with it. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly cfg: NxapiConfig, context: SourceContext) {
    const ctx = sourceContext(cfg, context);
    this.log = ctx.log;
    this.warn = new SampledWarn(ctx.log);
    this.secrets = ctx.secrets;
    this.secrets.add(cfg.password);
    this.http = new HttpClient(cfg.tls);
    const controllers = controllersOf(cfg);
    this.clients = controllers.map((baseUrl) => new NxapiClient({ baseUrl, timeoutMs: cfg.request_timeout, http: this.http, maxReplyBytes: cfg.max_frame_bytes }));
    // host.name stays the first controller's whichever serves: a cluster is one source of series.
    this.mapping = new NxapiMapping(cfg.name, cfg.metrics, cfg.resource, new URL(controllers[0]!).hostname, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
  }

  /** The controller in use, as `scheme://host:port` (configured URLs carry no credential). */
  get controller(): string {
    return this.client.origin;
  }

  private get client(): NxapiClient {
    return this.clients[this.current]!;
  }

  /** One REST call at a time, each reading the token when it starts. */
  private rest<T>(call: () => Promise<T>): Promise<T> {
    const p = this.chain.then(call, call);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Before every connection: the old session logged out, the next controller after a failure, a fresh login. */
  async connect(signal: AbortSignal): Promise<ConnectTarget> {
    await this.endLogin(signal);
    // Another attempt means the last one failed or its session was lost: try the next controller.
    if (this.attempts++ > 0 && this.clients.length > 1) {
      this.current = (this.current + 1) % this.clients.length;
      this.log.info({ controller: this.controller }, 'trying the next controller');
    }
    const client = this.client;
    // AuthError (401/403 on aaaLogin) and RateLimited go up as they are: the session's slow schedules.
    const login = await this.rest(() => client.login(this.cfg.username, this.cfg.password, signal));
    const scope = (this.login = this.secrets.session('login'));
    scope.add(login.token);
    this.token = login.token;
    this.tokenClient = client;
    this.tokenLifetimeS = login.refreshTimeoutS;
    this.log.debug({ refresh_timeout_s: this.tokenLifetimeS, controller: this.controller }, 'logged in');
    return { url: client.socketUrl(this.token), headers: {} };
  }

  /** The socket went, the session may not have: do not leave it to count against the switch's limit. */
  private async endLogin(signal: AbortSignal): Promise<void> {
    const token = this.token;
    const client = this.tokenClient;
    const scope = this.login;
    this.token = '';
    this.tokenClient = undefined;
    this.login = undefined;
    if (token && client) await this.rest(() => client.logout(this.cfg.username, token, signal)).catch(() => undefined);
    scope?.end();
  }

  /** The socket is open: subscribe every query over HTTP (snapshots delivered as they come), then start the refresh timers. */
  async open(link: Link): Promise<Opening> {
    const acks: Ack[] = [];
    for (const query of this.cfg.queries) {
      const meaning = await this.subscribe(query, link);
      if (meaning.fail) throw meaning.fail;
      acks.push(...(meaning.acks ?? []));
    }
    if (!link.signal.aborted) this.startTimers(link);
    return { expect: [...this.cfg.queries], meaning: { acks } };
  }

  /** A query refused or lapsed, asked for again on the session's slow schedule. */
  resubscribe(name: string, link: Link): Promise<Meaning> {
    return this.subscribe(name, link);
  }

  /**
   * One query subscribed (every page of it): its snapshot delivered, its answer as an ack. A refused
   * token or a 429 ends the connection (`fail`): only a new login (or the wait) helps.
   */
  private async subscribe(query: string, link: Link): Promise<Meaning> {
    let pages: SubscribeResult[];
    try {
      pages = await this.subscribeQuery(query, link.signal);
    } catch (err) {
      if ((err instanceof NxapiError && err.tokenInvalid) || err instanceof RateLimited) return { fail: err };
      return { acks: [{ name: query, ok: false, detail: (err as Error).message }] };
    }
    if (link.signal.aborted) return {};
    for (const res of pages) {
      this.subs.set(res.id, query);
      this.log.debug({ query, subscription_id: res.id, objects: res.imdata.length }, 'subscribed');
      // Each page is its own delivery: its own per-frame budget, as a frame of its own would have.
      link.deliver(this.snapshot(query, res.imdata));
    }
    return { acks: [{ name: query, ok: true }] };
  }

  /**
   * One query subscribed: whole, or, once the server has refused it as too big, page by page with
   * `page` and `page-size` (acitoolkit's way), each page its own subscription.
   */
  private async subscribeQuery(query: string, signal: AbortSignal): Promise<SubscribeResult[]> {
    const opts = { refreshTimeoutS: refreshTimeoutMs(this.cfg) / 1000 };
    if (!this.paged.has(query)) {
      try {
        return [await this.rest(() => this.client.subscribe(query, this.token, opts, signal))];
      } catch (err) {
        if (!(err instanceof NxapiError && err.tooBig)) throw err;
        this.paged.add(query);
        this.log.info({ query, page_size: this.cfg.page_size }, 'query result too big for one reply; subscribing page by page');
      }
    }
    const size = this.cfg.page_size;
    const pages: SubscribeResult[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await this.rest(() => this.client.subscribe(query, this.token, { ...opts, page: { page, size } }, signal));
      pages.push(r);
      if (r.imdata.length < size || (page + 1) * size >= r.total) break;
    }
    return pages;
  }

  /** A snapshot's objects → what to emit; a throw from mapping is that snapshot's counted rejection. */
  private snapshot(query: string, imdata: readonly unknown[]): Meaning {
    try {
      const { envelope, bad } = this.mapping.snapshot(query, imdata, Date.now());
      const rejects: Rejection[] = bad ? [{ reason: 'bad_object', detail: { query, objects: bad } }] : [];
      const envelopes: Envelope[] = envelope.metrics.length || envelope.logs.length ? [envelope] : [];
      return { envelopes, rejects };
    } catch (err) {
      return { rejects: [{ reason: 'mapping_error', detail: { query, err: err instanceof Error ? err.name : typeof err } }] };
    }
  }

  private startTimers(link: Link): void {
    this.refreshTimer = setInterval(() => void this.refreshRound(link), refreshIntervalMs(this.cfg));
    this.scheduleTokenRefresh(link);
    link.signal.addEventListener('abort', () => this.stopTimers(), { once: true });
  }

  private stopTimers(): void {
    clearInterval(this.refreshTimer);
    clearTimeout(this.tokenTimer);
    this.refreshTimer = this.tokenTimer = undefined;
    this.refreshing = false;
  }

  /** Every refresh interval: refresh each subscription; subscribe again at once a query whose subscription lapsed. */
  private async refreshRound(link: Link): Promise<void> {
    if (this.refreshing || link.signal.aborted) return;
    this.refreshing = true;
    const lapsed = new Set<string>();
    try {
      for (const [id, query] of [...this.subs]) {
        if (lapsed.has(query)) continue; // another page of its query lapsed: re-subscribed whole
        try {
          await this.rest(() => this.client.refreshSubscription(id, this.token, link.signal));
        } catch (err) {
          if (link.signal.aborted) return;
          if ((err instanceof NxapiError && err.tokenInvalid) || err instanceof RateLimited) return link.deliver({ fail: err as Error });
          // The switch forgot it (missed deadline, its own restart): subscribe that query again, every page.
          lapsed.add(query);
          for (const [other, q] of [...this.subs]) if (q === query) this.subs.delete(other);
          this.warn.warn(`lapsed:${query}`, { query, err: (err as Error).message }, 'subscription refresh failed; re-subscribing');
        }
      }
      for (const query of lapsed) {
        if (link.signal.aborted) return;
        const meaning = await this.subscribe(query, link);
        link.deliver(meaning);
        if (meaning.fail) return;
      }
    } catch (err) {
      if (!link.signal.aborted) link.deliver({ fail: err as Error });
    } finally {
      this.refreshing = false;
    }
  }

  private scheduleTokenRefresh(link: Link): void {
    const every = this.cfg.token_refresh_interval || (this.tokenLifetimeS * 1000) / 2;
    this.tokenTimer = setTimeout(() => {
      void this.rest(() => this.client.refreshToken(this.token, this.cfg.platform, link.signal)).then(
        (r) => {
          if (link.signal.aborted) return;
          // The old token is retired by the refresh: no longer a secret to keep, the new one is.
          if (r.token !== this.token) this.login?.delete(this.token);
          this.login?.add(r.token);
          this.token = r.token;
          this.tokenLifetimeS = r.refreshTimeoutS;
          this.log.debug({ refresh_timeout_s: r.refreshTimeoutS }, 'token refreshed');
          this.scheduleTokenRefresh(link);
        },
        (err: Error) => {
          if (!link.signal.aborted) link.deliver({ fail: new Error(`aaaRefresh failed: ${err.message}`) });
        },
      );
    }, every);
  }

  frame(msg: unknown, info: FrameInfo): Meaning {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return rejected('unknown_type', { bytes: info.bytes });
    const { subscriptionId, imdata } = msg as { subscriptionId?: unknown; imdata?: unknown };
    if (subscriptionId === undefined && imdata === undefined) return rejected('unknown_type', { keys: Object.keys(msg).slice(0, 5).join(',') });
    // The protocol says a list; one id on its own is read as a list of one.
    const ids = typeof subscriptionId === 'string' ? [subscriptionId] : subscriptionId;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => typeof i === 'string') || !Array.isArray(imdata)) {
      return rejected('bad_payload', { bytes: info.bytes });
    }
    const { envelope, bad } = this.mapping.notification(ids as string[], imdata, info.receivedMs);
    const meaning: Meaning = {};
    if (bad) meaning.rejects = [{ reason: 'bad_object', detail: { objects: bad } }];
    // Nothing mapped and nothing bad: the session's one `unmapped` rule.
    if (envelope.metrics.length || envelope.logs.length) meaning.envelopes = [envelope];
    return meaning;
  }

  /** The socket closed: this connection's subscriptions are gone with it (the session's REST calls stop with its link). */
  closed(): void {
    this.stopTimers();
    this.subs.clear();
  }

  /** NX-API has no unsubscribe (subscriptions lapse); logging out ends the session and its socket. */
  async stop(): Promise<void> {
    this.stopTimers();
    await this.endLogin(AbortSignal.timeout(Math.min(this.cfg.request_timeout, 2000)));
    this.http.close();
  }

  resource(): Attributes {
    return this.mapping.resource;
  }
}

function rejected(reason: string, detail: Record<string, unknown>): Meaning {
  return { rejects: [{ reason, detail }] };
}
