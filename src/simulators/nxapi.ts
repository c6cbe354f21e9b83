import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { refuseUpgrade } from './refuse_upgrade.js';
import { readBody, SimServer } from './server.js';

/**
 * A Cisco NX-API REST switch as README.md describes it: aaaLogin (401 and the error
 * shape for a wrong or missing credential), aaaRefresh, aaaLogout, the `APIC-cookie` on every REST
 * call (403 without a live one), the socket at `/socket<token>`, `?subscription=yes` on class and mo
 * queries, subscriptionRefresh, and notifications whose `subscriptionId` is a list and whose attribute
 * values are all strings. It is as strict as the switch: a subscription not refreshed within
 * `subscriptionTimeoutMs` is gone (a later refresh gets a 400 error), and a token not refreshed within
 * `tokenLifetimeMs` ends the session: REST answers 403 and the socket closes. Both deadlines are
 * options so that tests can pass minutes of protocol time in seconds. It can be told to send
 * malformed, unknown, bad or oversized frames. `ws2otel simulate nxapi` serves it.
 *
 * Field behaviours it enforces: `platform` picks aaaRefresh's method (NX-OS: POST, APIC: GET; the
 * other is refused); a subscribe's `refresh-timeout=<s>` sets that subscription's deadline (scaled by
 * `secondMs`), refused above `maxRefreshTimeoutS`; with `maxResults` a query matching more objects
 * than that is refused as "result dataset is too big" unless asked for in pages (`page`, `page-size`).
 * A re-subscribe returns the whole current snapshot again, as the switch does.
 */
export interface NxapiSimulatorOptions {
  /** nxos (default): aaaRefresh must be a POST; apic: it must be a GET. */
  platform?: 'nxos' | 'apic';
  host?: string;
  port?: number;
  username: string;
  password: string;
  /** Front-panel ports eth1/1 … eth1/N (default 4). */
  interfaces?: number;
  /** Answer the first `calls` REST calls with 429 (and `Retry-After: retryAfterS` when given), as a rate-limiting APIC does. */
  rateLimit?: { calls: number; retryAfterS?: number };
  /** Period of interface counter changes, each a `modified` notification (ms; 0: none; default 1000). */
  intervalMs?: number;
  /** Period of an interface's operSt flip (ms; 0: none). */
  flapEveryMs?: number;
  /** A subscription made without refresh-timeout and not refreshed for this long expires (NX-OS: 90 s, APIC: 60 s). */
  subscriptionTimeoutMs?: number;
  /** Milliseconds per protocol second of a `refresh-timeout=<s>` (default 1000; tests scale it down). */
  secondMs?: number;
  /** The largest refresh-timeout accepted, in seconds (default 1800: what aci-containers sends); above it: 400. */
  maxRefreshTimeoutS?: number;
  /** A query result larger than this (or a page-size above it) is refused with 400 "result dataset is too big". */
  maxResults?: number;
  /** A token not refreshed for this long expires, ending the session (NX-OS refreshTimeoutSeconds: 600). */
  tokenLifetimeMs?: number;
  /** Before every Nth notification, one bad frame of each kind given. */
  faults?: { malformedEvery?: number; unknownEvery?: number; badPayloadEvery?: number; oversizedEvery?: number; oversizedBytes?: number };
  /** Keep every notification sent (tests). */
  record?: boolean;
}

export interface SentNotification {
  ids: string[];
  cls: string;
  attributes: Record<string, string>;
}

interface Mo {
  cls: string;
  attrs: Record<string, string>;
}

interface Session {
  user: string;
  token: string;
  timer: NodeJS.Timeout;
  sockets: Set<WebSocket>;
  subs: Set<string>;
}

interface Subscription {
  id: string;
  session: Session;
  kind: 'class' | 'mo';
  target: string;
  timer: NodeJS.Timeout;
  /** This subscription's deadline: its refresh-timeout, or the platform's default. */
  timeoutMs: number;
}

const QUERY_PATH = /^\/api\/(?:node\/)?(mo|class)\/(.+)\.json$/;

function errorBody(code: number, text: string): string {
  return JSON.stringify({ totalCount: '1', imdata: [{ error: { attributes: { code: String(code), text } } }] });
}

function modTs(ms = Date.now()): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

export class NxapiSimulator {
  private readonly server: SimServer;
  private readonly sessions = new Map<string, Session>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly objects = new Map<string, Mo>();
  private readonly classes = new Set<string>();
  private nextSub = 18374686685813276673n;
  private tick = 0;
  private flaps = 0;

  readonly stats = {
    logins: 0, loginFailures: 0, tokenRefreshes: 0, logouts: 0, forbidden: 0,
    subscriptionsCreated: 0, subscriptionRefreshes: 0, refreshFailures: 0,
    expiredSubscriptions: 0, expiredTokens: 0, upgrades: 0, upgradeRejections: 0, notificationsSent: 0,
    wrongMethodRefreshes: 0, tooBig: 0,
  };
  readonly sent: SentNotification[] = [];
  /** Every REST request line as received (path and query), for tests. */
  readonly requests: string[] = [];
  /** REST calls answered 429 so far. */
  rateLimited = 0;
  /** Every token handed out (tests look for them in logs). */
  readonly tokensIssued: string[] = [];

  constructor(private readonly opts: NxapiSimulatorOptions) {
    this.server = new SimServer({
      host: opts.host, port: opts.port,
      rest: (req, res) => this.rest(req, res),
      upgrade: (req, socket, head) => this.upgrade(req, socket, head),
    });
    this.build();
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return this.server.url('http');
  }

  get platform(): 'nxos' | 'apic' {
    return this.opts.platform ?? 'nxos';
  }

  get subscriptionTimeoutMs(): number {
    return this.opts.subscriptionTimeoutMs ?? (this.platform === 'apic' ? 60_000 : 90_000);
  }

  get tokenLifetimeMs(): number {
    return this.opts.tokenLifetimeMs ?? 600_000;
  }

  /** Live subscriptions and sessions (tests). */
  get liveSubscriptions(): number {
    return this.subscriptions.size;
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  get openSockets(): number {
    return this.server.sockets.size;
  }

  async start(): Promise<number> {
    await this.server.listen();
    const interval = this.opts.intervalMs ?? 1000;
    if (interval > 0) this.server.every(interval, () => this.countersTick());
    if (this.opts.flapEveryMs) this.server.every(this.opts.flapEveryMs, () => this.flap());
    return this.port;
  }

  stop(): Promise<void> {
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    for (const s of this.subscriptions.values()) clearTimeout(s.timer);
    return this.server.stop(true);
  }

  // ---- the switch's objects ------------------------------------------------------------------

  private put(cls: string, attrs: Record<string, string>): void {
    this.objects.set(attrs.dn!, { cls, attrs: { childAction: '', status: '', ...attrs } });
    this.classes.add(cls);
  }

  private build(): void {
    const n = this.opts.interfaces ?? 4;
    const ts = modTs();
    for (let i = 1; i <= n; i++) {
      const dn = `sys/intf/phys-[eth1/${i}]`;
      const up = i !== n; // the last port is shut down
      this.put('l1PhysIf', { dn, id: `eth1/${i}`, adminSt: up ? 'up' : 'down', mtu: '9216', descr: '', speed: 'auto', layer: 'Layer2', mode: 'access', modTs: ts });
      this.put('ethpmPhysIf', { dn: `${dn}/phys`, operSt: up ? 'up' : 'down', operSpeed: up ? '10G' : 'auto', operMtu: '9216', operDuplex: 'full', modTs: ts });
      this.put('rmonIfIn', {
        dn: `${dn}/dbgIfIn`, octets: String(1_000_000 * i), ucastPkts: String(10_000 * i), multicastPkts: String(100 * i), broadcastPkts: String(10 * i),
        nUcastPkts: String(110 * i), discards: '0', errors: '0', unknownProtos: '0',
      });
      this.put('rmonIfOut', {
        dn: `${dn}/dbgIfOut`, octets: String(2_000_000 * i), ucastPkts: String(20_000 * i), multicastPkts: String(200 * i), broadcastPkts: String(20 * i),
        nUcastPkts: String(220 * i), discards: '0', errors: '0', qLen: '0',
      });
    }
    this.put('topSystem', { dn: 'sys', name: 'sim-n9k', serial: 'SIM0001', systemUpTime: '00:01:00:00.000' });
  }

  /** Interface counters grow; each changed counter object is notified with only what changed. */
  private countersTick(): void {
    const k = ++this.tick;
    for (const mo of this.objects.values()) {
      if (mo.cls !== 'rmonIfIn' && mo.cls !== 'rmonIfOut') continue;
      const i = Number(/eth1\/(\d+)/.exec(mo.attrs.dn!)?.[1] ?? 1);
      if (this.objects.get(`sys/intf/phys-[eth1/${i}]/phys`)?.attrs.operSt !== 'up') continue;
      const add = (f: string, by: number) => (mo.attrs[f] = String(Number(mo.attrs[f]) + by));
      add('octets', 1500 * i * (1 + (k % 3)));
      add('ucastPkts', i * (1 + (k % 3)));
      const changed: Record<string, string> = { dn: mo.attrs.dn!, octets: mo.attrs.octets!, ucastPkts: mo.attrs.ucastPkts! };
      if (k % 5 === 0) {
        add('errors', 1);
        changed.errors = mo.attrs.errors!;
      }
      this.notify(mo.cls, { ...changed, status: 'modified' });
    }
  }

  /** One port goes down or comes back (operSt of ethpmPhysIf). */
  private flap(): void {
    const n = this.opts.interfaces ?? 4;
    const mo = this.objects.get(`sys/intf/phys-[eth1/${1 + (this.flaps++ % Math.max(1, n - 1))}]/phys`);
    if (!mo) return;
    this.setAttributes(mo.attrs.dn!, { operSt: mo.attrs.operSt === 'up' ? 'down' : 'up' });
  }

  /** Changes an object as a CLI user would (`description test`), notifying subscribers (tests, e2e). */
  setAttributes(dn: string, changes: Record<string, string>): void {
    const mo = this.objects.get(dn);
    if (!mo) throw new Error(`no object ${dn}`);
    const ts = modTs();
    Object.assign(mo.attrs, changes, mo.attrs.modTs !== undefined ? { modTs: ts } : {});
    this.notify(mo.cls, { childAction: '', ...changes, dn, ...(mo.attrs.modTs !== undefined ? { modTs: ts } : {}), rn: '', status: 'modified' });
  }

  /** Sends one notification per session that has a matching subscription, listing every matching id. */
  private notify(cls: string, attributes: Record<string, string>): void {
    const bySession = new Map<Session, string[]>();
    for (const sub of this.subscriptions.values()) {
      if (sub.kind === 'class' ? sub.target !== cls : sub.target !== attributes.dn) continue;
      let ids = bySession.get(sub.session);
      if (!ids) bySession.set(sub.session, (ids = []));
      ids.push(sub.id);
    }
    for (const [session, ids] of bySession) {
      if (session.sockets.size === 0) continue; // no socket: the event is lost, as on the switch
      this.faults();
      const frame = JSON.stringify({ subscriptionId: ids, imdata: [{ [cls]: { attributes } }] });
      for (const ws of session.sockets) ws.send(frame);
      this.stats.notificationsSent++;
      if (this.opts.record) this.sent.push({ ids, cls, attributes });
    }
  }

  private faults(): void {
    const f = this.opts.faults;
    if (!f) return;
    const n = this.stats.notificationsSent;
    const hit = (every?: number) => !!every && n % every === every - 1;
    const send = (frame: string) => {
      for (const s of this.sessions.values()) for (const ws of s.sockets) ws.send(frame);
    };
    if (hit(f.malformedEvery)) send('{"subscriptionId":["1"],"imdata":[{"rmonIfIn":');
    if (hit(f.unknownEvery)) send(JSON.stringify({ eventType: 'heartbeat', ts: modTs() }));
    if (hit(f.badPayloadEvery)) send(JSON.stringify({ subscriptionId: ['1'], imdata: 'not a list' }));
    if (hit(f.oversizedEvery)) {
      send(JSON.stringify({ subscriptionId: ['1'], imdata: [{ l1PhysIf: { attributes: { dn: 'sys/intf/phys-[eth1/1]', descr: 'x'.repeat(f.oversizedBytes ?? 1024 * 1024) } } }] }));
    }
  }

  // ---- sessions ------------------------------------------------------------------------------

  private newToken(): string {
    // Base64 as the switch's: '+', '/' and '=' appear in the socket path as they are.
    const token = randomBytes(96).toString('base64');
    this.tokensIssued.push(token);
    return token;
  }

  private armSession(s: Session): void {
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      this.stats.expiredTokens++;
      this.endSession(s);
    }, this.tokenLifetimeMs);
  }

  private endSession(s: Session, closeSockets = true): void {
    clearTimeout(s.timer);
    this.sessions.delete(s.token);
    for (const id of s.subs) {
      clearTimeout(this.subscriptions.get(id)?.timer);
      this.subscriptions.delete(id);
    }
    // "The WebSocket connection … closes when your API session ends."
    if (closeSockets) for (const ws of s.sockets) ws.close(1000, 'session ended');
    else s.sockets.clear();
  }

  /**
   * Ends every session now, as a missed token refresh would: REST gets 403 and sockets close (tests).
   * `closeSockets: false` leaves the sockets open but silent, as when the close never reaches the client.
   */
  expireSessions(closeSockets = true): void {
    for (const s of [...this.sessions.values()]) {
      this.stats.expiredTokens++;
      this.endSession(s, closeSockets);
    }
  }

  /** Forgets every subscription (a switch process restart), sessions kept: refreshes now fail (tests). */
  forgetSubscriptions(): void {
    for (const sub of this.subscriptions.values()) {
      clearTimeout(sub.timer);
      sub.session.subs.delete(sub.id);
    }
    this.subscriptions.clear();
  }

  /** Drops every socket without ending the sessions (tests). */
  closeSockets(code = 1001, reason = 'going away'): void {
    this.server.closeAll(code, reason);
  }

  private sessionOf(req: IncomingMessage): Session | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === 'APIC-cookie') return this.sessions.get(part.slice(eq + 1).trim());
    }
    return undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = req.url ?? '/';
    const session = path.startsWith('/socket') ? this.sessions.get(path.slice('/socket'.length)) : undefined;
    if (!session) {
      this.stats.upgradeRejections++;
      return refuseUpgrade(socket, 403, errorBody(403, 'Token was invalid (Error: Token timeout)'));
    }
    this.server.accept(req, socket, head, (ws) => {
      this.stats.upgrades++;
      session.sockets.add(ws);
      ws.on('close', () => session.sockets.delete(ws));
      ws.on('error', () => undefined);
    });
  }

  // ---- REST ----------------------------------------------------------------------------------

  private reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers }).end(body);
  }

  private loginReply(res: ServerResponse, s: Session): void {
    const attributes = {
      token: s.token, siteFingerprint: '', refreshTimeoutSeconds: String(this.tokenLifetimeMs / 1000), guiIdleTimeoutSeconds: '1200',
      restTimeoutSeconds: '0', creationTime: String(Math.floor(Date.now() / 1000)), firstLoginTime: String(Math.floor(Date.now() / 1000)),
      userName: s.user, remoteUser: 'false', unixUserId: '0', sessionId: randomBytes(16).toString('base64'), lastName: '', firstName: '',
      version: '0.9(14HEAD)', buildTime: 'simulated',
    };
    this.reply(res, 200, JSON.stringify({ totalCount: '1', imdata: [{ aaaLogin: { attributes } }] }), {
      'Set-Cookie': `APIC-cookie=${s.token}; path=/; HttpOnly`,
    });
  }

  private rest(req: IncomingMessage, res: ServerResponse): void {
    readBody(req, (body) => {
      try {
        this.route(req, res, body);
      } catch (err) {
        this.reply(res, 500, errorBody(500, `internal error: ${(err as Error).message}`));
      }
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const raw = req.url ?? '/';
    this.requests.push(raw);
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));

    const rl = this.opts.rateLimit;
    if (rl && this.rateLimited < rl.calls) {
      this.rateLimited++;
      return this.reply(res, 429, errorBody(429, 'too many requests'), rl.retryAfterS !== undefined ? { 'Retry-After': String(rl.retryAfterS) } : {});
    }
    if (path === '/api/aaaLogin.json') {
      if (req.method !== 'POST') return this.reply(res, 400, errorBody(400, 'aaaLogin requires POST'));
      let user: unknown;
      let pwd: unknown;
      try {
        const attrs = (JSON.parse(body) as { aaaUser?: { attributes?: { name?: unknown; pwd?: unknown } } }).aaaUser?.attributes;
        user = attrs?.name;
        pwd = attrs?.pwd;
      } catch {
        this.stats.loginFailures++;
        return this.reply(res, 400, errorBody(400, 'Failed to parse login request'));
      }
      if (user !== this.opts.username || pwd !== this.opts.password || typeof user !== 'string') {
        this.stats.loginFailures++;
        return this.reply(res, 401, errorBody(401, 'Username or password is incorrect - FAILED local authentication'));
      }
      this.stats.logins++;
      const s: Session = { user, token: this.newToken(), timer: undefined as unknown as NodeJS.Timeout, sockets: new Set(), subs: new Set() };
      this.sessions.set(s.token, s);
      this.armSession(s);
      return this.loginReply(res, s);
    }

    const session = this.sessionOf(req);
    if (!session) {
      this.stats.forbidden++;
      const text = req.headers.cookie?.includes('APIC-cookie=')
        ? 'Token was invalid (Error: Token timeout)'
        : 'Need a valid webtoken cookie (named APIC-cookie) or a signed request with signature in the cookie.';
      return this.reply(res, 403, errorBody(403, text));
    }

    if (path === '/api/aaaRefresh.json') {
      // NX-OS lists aaaRefresh as a DN target of a POST; APIC serves it to a GET. The other method is refused.
      const method = this.platform === 'nxos' ? 'POST' : 'GET';
      if (req.method !== method) {
        this.stats.wrongMethodRefreshes++;
        return this.reply(res, 405, errorBody(405, `aaaRefresh requires ${method} on ${this.platform}`), { Allow: method });
      }
      // A new token replaces the old one, which stops working; the session and its socket live on.
      this.sessions.delete(session.token);
      session.token = this.newToken();
      this.sessions.set(session.token, session);
      this.armSession(session);
      this.stats.tokenRefreshes++;
      return this.loginReply(res, session);
    }
    if (path === '/api/aaaLogout.json') {
      if (req.method !== 'POST') return this.reply(res, 400, errorBody(400, 'aaaLogout requires POST'));
      this.stats.logouts++;
      this.endSession(session);
      return this.reply(res, 200, JSON.stringify({ totalCount: '0', imdata: [] }));
    }
    if (path === '/api/subscriptionRefresh.json') {
      const id = params.get('id') ?? '';
      const sub = this.subscriptions.get(id);
      if (!sub || sub.session !== session) {
        this.stats.refreshFailures++;
        return this.reply(res, 400, errorBody(400, `Subscription refresh failed: subscription ${id || '(none)'} does not exist`));
      }
      this.armSubscription(sub);
      this.stats.subscriptionRefreshes++;
      return this.reply(res, 200, JSON.stringify({ totalCount: '0', imdata: [] }));
    }

    const m = QUERY_PATH.exec(path);
    if (!m || req.method !== 'GET') return this.reply(res, 400, errorBody(400, `Request failed, unresolved method for ${path}`));
    const kind = m[1] as 'class' | 'mo';
    let target: string;
    try {
      target = decodeURIComponent(m[2]!);
    } catch {
      return this.reply(res, 400, errorBody(400, 'Request failed, malformed URL'));
    }
    if (kind === 'class' && !this.classes.has(target)) return this.reply(res, 400, errorBody(400, `Request failed, unresolved class for ${target}`));
    const found = kind === 'class' ? [...this.objects.values()].filter((o) => o.cls === target) : [this.objects.get(target)].filter((o): o is Mo => !!o);
    let page = found;
    const pageSize = params.get('page-size');
    const limit = this.opts.maxResults;
    if (pageSize !== null) {
      const size = Number(pageSize);
      const n = Number(params.get('page') ?? '0');
      if (!Number.isInteger(size) || size < 1 || !Number.isInteger(n) || n < 0) return this.reply(res, 400, errorBody(400, 'Request failed, invalid page or page-size'));
      if (limit && size > limit) {
        this.stats.tooBig++;
        return this.reply(res, 400, errorBody(400, 'Unable to process the query, result dataset is too big'));
      }
      page = found.slice(n * size, (n + 1) * size);
    } else if (limit && found.length > limit) {
      this.stats.tooBig++;
      return this.reply(res, 400, errorBody(400, 'Unable to process the query, result dataset is too big'));
    }
    let timeoutMs = this.subscriptionTimeoutMs;
    const rt = params.get('refresh-timeout');
    if (rt !== null) {
      const secs = Number(rt);
      const max = this.opts.maxRefreshTimeoutS ?? 1800;
      if (!/^\d+$/.test(rt) || secs < 1 || secs > max) return this.reply(res, 400, errorBody(400, `Request failed, refresh-timeout must be from 1 to ${max}`));
      timeoutMs = secs * (this.opts.secondMs ?? 1000);
    }
    // Every object as it is now, on every subscribe: a re-subscribe gets the whole snapshot again.
    const imdata = page.map((o) => ({ [o.cls]: { attributes: { ...o.attrs } } }));
    const reply: Record<string, unknown> = { totalCount: String(found.length) };
    if (params.get('subscription') === 'yes') {
      const sub: Subscription = { id: String(this.nextSub++), session, kind, target, timer: undefined as unknown as NodeJS.Timeout, timeoutMs };
      this.subscriptions.set(sub.id, sub);
      session.subs.add(sub.id);
      this.armSubscription(sub);
      this.stats.subscriptionsCreated++;
      reply.subscriptionId = sub.id;
    }
    reply.imdata = imdata;
    return this.reply(res, 200, JSON.stringify(reply));
  }

  private armSubscription(sub: Subscription): void {
    clearTimeout(sub.timer);
    sub.timer = setTimeout(() => {
      if (this.subscriptions.get(sub.id) !== sub) return;
      this.stats.expiredSubscriptions++;
      this.subscriptions.delete(sub.id);
      sub.session.subs.delete(sub.id);
    }, sub.timeoutMs);
  }
}
