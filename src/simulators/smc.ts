import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { refuseUpgrade } from './refuse_upgrade.js';
import { readBody, SimServer } from './server.js';

/**
 * A Forcepoint SMC API server as src/sources/smc/README.md ("How it talks to the SMC") describes it: `GET /api` lists the versions,
 * and any path under a version it does not list answers 404. `POST /{ver}/login` with the API key
 * answers 200 and a JSESSIONID cookie (401 otherwise; 429 while `rateLimit` says so), `PUT
 * /{ver}/logout` answers 204. In `sessionMode: 'ssl'` (the SMC tracking sessions by SSL session) the
 * login answers with no cookie and an `Authorization` header instead: REST calls without that header
 * get 401, and a socket upgrade needs the subprotocol pair `access_token, <token>` (the server selects
 * `access_token`). Sockets refuse any upgrade with an Origin header (the SMC's CORS filter): the
 * notification socket takes `{"context": …}` channels, the status socket `{"element": href}`
 * subscriptions and `{"context": <element type>}` ones for a whole family (each status then names its
 * element, see `contextIdentity`); `subscription_id` counts from 0 per connection; bad commands get
 * `{"failure": …}`; a client message over the server's buffer closes the socket with Tomcat's reason.
 * An expired session answers 401 on REST and closes its sockets. The server stays silent when nothing
 * changes. It can be told to send malformed, oversized or unknown frames.
 */
export interface SmcSimulatorOptions {
  host?: string;
  port?: number;
  apiKey: string;
  /** Domains a login may name (an empty domain is the Shared Domain). */
  domains?: string[];
  /** API versions GET /api lists. ≤ 6.5 sends notifications in the old `events` list form. */
  versions?: string[];
  /** A session expires this long after login (0: never, unless expireSessions() is called). */
  sessionTtlMs?: number;
  /** Period of element changes on the notification socket, ms (0: none). */
  changeEveryMs?: number;
  /** Period of status changes per subscribed element, ms (0: only the status sent on subscribe). */
  statusEveryMs?: number;
  /** Generated firewall nodes besides the seed's two elements. */
  nodes?: number;
  /** The server's text buffer: a longer client message closes the socket (Tomcat default 8192). */
  maxMessageBytes?: number;
  autoPong?: boolean;
  /** How sessions are tracked: a JSESSIONID cookie (default), or the SSL session with an Authorization token. */
  sessionMode?: SessionMode;
  /** Generated virtual engines (`elements/virtual_fw/…`), the members of the `virtual_fw` status context. */
  virtualEngines?: number;
  /**
   * How a status sent for a `{"context": type}` subscription names its element (unconfirmed on a real
   * SMC): `href` puts the element's href inside the status beside its `name`, `name` sends the name only.
   */
  contextIdentity?: 'href' | 'name';
  /** SSL-session mode: makes each session's token (default: 24 random bytes, base64url). */
  newToken?: () => string;
  /** The first `logins` login attempts are answered 429, with `Retry-After: retryAfterS` when given. */
  rateLimit?: { logins: number; retryAfterS?: number };
  /** Every Nth status frame is preceded by a bad frame of each kind given. */
  faults?: { malformedEvery?: number; unknownEvery?: number; badStatusEvery?: number; oversizedEvery?: number; oversizedBytes?: number };
}

export type SocketKind = 'notification' | 'status';
export type SessionMode = 'cookie' | 'ssl';

/** Path (from `elements/`) of the seed's VPN tunnel endpoint and engine node. */
export const SEED_VPN_ENDPOINT = 'elements/vpn/5/tunnels/MiM1OQ==/endpoints/MSMxMTQ=';
export const SEED_ENGINE_NODE = 'elements/single_fw/1649/firewall_node/1650';
export const TOO_BIG_REASON = 'The decoded text message was too big for the output buffer and the endpoint does not support partial messages';

/** RelNames a context may name (a subset of what GET /{ver}/api lists). */
const REL_NAMES = new Set(['host', 'router', 'network', 'address_range', 'domain_name', 'group', 'admin_user', 'api_client', 'single_fw', 'fw_cluster', 'virtual_fw', 'vpn', 'mgt_server', 'log_server']);

/**
 * Status contexts (`{"context": type}` on the status socket) → the RelName their elements' hrefs carry.
 * The names follow the SMC API guide's examples; which other families a real SMC offers is not listed here.
 */
export const STATUS_CONTEXTS: Readonly<Record<string, string>> = { fw_single: 'single_fw', virtual_fw: 'virtual_fw', vpn: 'vpn' };

/** The element changes the notification socket cycles through. */
const CHANGES: { type: string; path: string }[] = [
  { type: 'create', path: 'elements/router/1733' },
  { type: 'create', path: 'elements/host/1732' },
  { type: 'update', path: 'elements/admin_user/3' },
  { type: 'update', path: 'elements/host/1732' },
  { type: 'validating', path: 'elements/single_fw/1649' },
  { type: 'validated', path: 'elements/single_fw/1649' },
  { type: 'trashed', path: 'elements/host/1732' },
  { type: 'untrashed', path: 'elements/host/1732' },
  { type: 'delete', path: 'elements/router/1733' },
];

/** The seed's VPN endpoint status, exactly (smc-element-status.txt), with its hrefs on this server. */
export function seedVpnStatus(base: string): Record<string, unknown> {
  const t = (id: string, name: string) => ({ href: `${base}/elements/vpn/5/tunnels/${id}`, name: `Gateway Tunnel ${name}`, type: 'gateway_tunnel' });
  return {
    health_in_percent: 71, jitter_in_ms: 3, latency_in_ms: 71, monitoring_state: 'READY', monitoring_status: 'OK', name: 'Corporate VPN',
    packet_loss_in_permyriad: 361,
    result: [
      t('NTkjNjU=', 'Helsinki VPN Gateway-Paris VPN Gateway'), t('NTkjNjc=', 'Helsinki VPN Gateway-Tunis VPN Gateway'),
      t('NTkjNjQ=', 'Helsinki VPN Gateway-Moscow VPN Gateway'), t('NTkjNjA=', 'Helsinki VPN Gateway-London VPN Gateway'),
      t('NTgjNTk=', 'Beijing VPN Gateway-Helsinki VPN Gateway'), t('NTkjNjM=', 'Helsinki VPN Gateway-Milan VPN Gateway'),
      t('NTYjNTk=', 'Atlanta VPN Gateway-Helsinki VPN Gateway'), t('MiM1OQ==', 'VPN Client-Helsinki VPN Gateway'),
      t('NTUjNTk=', 'Algiers VPN Gateway-Helsinki VPN Gateway'), t('NTkjNjI=', 'Helsinki VPN Gateway-Mexico City VPN Gateway'),
      t('NTkjNjY=', 'Helsinki VPN Gateway-Riyadh VPN Gateway'), t('NTkjNjE=', 'Helsinki VPN Gateway-Madrid VPN Gateway'),
    ],
    traffic_in_bits_per_sec: 1881231412, vpn_status_code: 'Idle',
  };
}

const NODE_STATUSES = ['OK', 'OK', 'OK', 'WARNING', 'OK', 'ERROR'];

/** Status of element `path` at change number `seq` (seq 0: the seed's own values where it has them). */
export function elementStatus(base: string, path: string, seq: number): Record<string, unknown> {
  if (path === SEED_VPN_ENDPOINT) {
    const s = seedVpnStatus(base);
    if (seq === 0) return s;
    return {
      ...s, health_in_percent: 60 + (seq * 7) % 41, latency_in_ms: 20 + (seq * 13) % 90, jitter_in_ms: seq % 9,
      packet_loss_in_permyriad: (seq * 37) % 500, traffic_in_bits_per_sec: 1_800_000_000 + seq * 1_000_003,
      vpn_status_code: seq % 4 === 3 ? 'Down' : 'Idle', monitoring_status: seq % 4 === 3 ? 'WARNING' : 'OK',
    };
  }
  if (path === SEED_ENGINE_NODE && seq === 0) return { monitoring_state: 'READY', monitoring_status: 'OK', name: 'Plano node 1' };
  const n = /firewall_node\/(\d+)$/.exec(path)?.[1];
  const v = /virtual_fw\/(\d+)$/.exec(path)?.[1];
  return {
    name: path === SEED_ENGINE_NODE ? 'Plano node 1' : v !== undefined ? `virtual engine ${v}` : `node ${n ?? '0'}`,
    monitoring_state: 'READY',
    monitoring_status: NODE_STATUSES[seq % NODE_STATUSES.length],
    health_in_percent: 100 - (seq % 5) * 10,
    connection_count: 1000 + seq * 17,
    inbound_traffic_in_bits_per_sec: 5_000_000 + seq * 1001,
    outbound_traffic_in_bits_per_sec: 3_000_000 + seq * 999,
    configuration_status: 'Installed',
    engine_node_status: seq % 6 === 5 ? 'Locked Offline' : 'Online',
    installed_policy: 'Corporate Policy',
    dyn_up: 1500,
  };
}

interface Sess {
  /** The JSESSIONID cookie's value, or in SSL-session mode the Authorization token. */
  key: string;
  version: string;
  sockets: Set<WebSocket>;
  timer?: NodeJS.Timeout;
}

interface Channel {
  id: number;
  /** Notification: '*' or the RelNames; status: the element type of a `{"context": …}` subscription. */
  context?: Set<string> | '*';
  /** Status: the element path of an `{"element": href}` subscription. */
  element?: string;
  /** Status: the element paths the subscription sends statuses for. */
  paths?: string[];
  stop?: () => void;
}

interface Conn {
  kind: SocketKind;
  version: string;
  session: Sess;
  nextId: number;
  channels: Map<number, Channel>;
}

export interface ClientMessage {
  kind: SocketKind;
  connection: number;
  text: string;
}

export interface SentFrame {
  kind: SocketKind;
  connection: number;
  subscriptionId: number;
  frame: Record<string, unknown>;
  /** Status frames: the element path; events: the element path changed. */
  path: string;
}

function versionLE(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return true;
}

export class SmcSimulator {
  private readonly server: SimServer<Conn & { n: number }>;
  private readonly sessions = new Map<string, Sess>();
  private readonly elements: string[];
  private statusFrames = 0;
  private changeSeq = 0;
  readonly clientMessages: ClientMessage[] = [];
  readonly sent: SentFrame[] = [];
  /** Upgrade request headers, per connection attempt (tests check for Origin and Cookie). */
  readonly upgrades: { kind: string; path: string; status: number; headers: IncomingMessage['headers'] }[] = [];
  /** REST requests as answered (tests: which carried the session, which were refused). */
  readonly requests: { method: string; path: string; status: number; headers: IncomingMessage['headers'] }[] = [];
  /** Tokens handed out in SSL-session mode (tests look for them in logs). */
  readonly tokens: string[] = [];
  /** Answer WebSocket pings (a dead server does not); switchable at run time. */
  autoPong: boolean;
  /** Called on every ping a client sends (tests). */
  onPing: (() => void) | undefined;
  logins = 0;
  loginFailures = 0;
  rateLimited = 0;
  logouts = 0;
  originRejected = 0;
  connections = { notification: 0, status: 0 };

  constructor(private readonly opts: SmcSimulatorOptions) {
    this.server = new SimServer({
      host: opts.host, port: opts.port,
      rest: (req, res) => readBody(req, (body) => this.route(req, res, body)),
      upgrade: (req, socket, head) => this.upgrade(req, socket, head),
      ws: {
        autoPong: false, maxPayload: 64 * 1024 * 1024,
        // A server must select one of the offered subprotocols, else the client aborts the handshake.
        handleProtocols: (offered: Set<string>) => (offered.has('access_token') ? 'access_token' : false),
      },
    });
    this.autoPong = opts.autoPong ?? true;
    this.elements = [SEED_VPN_ENDPOINT, SEED_ENGINE_NODE];
    for (let i = 0; i < (opts.nodes ?? 2); i++) this.elements.push(`elements/single_fw/${1700 + i}/firewall_node/${1800 + i}`);
    for (let i = 0; i < (opts.virtualEngines ?? 2); i++) this.elements.push(`elements/virtual_fw/${2000 + i}`);
    if ((opts.changeEveryMs ?? 0) > 0) this.server.every(opts.changeEveryMs, () => this.change());
  }

  /** Open sockets, with what each is. */
  private get conns(): Map<WebSocket, Conn & { n: number }> {
    return this.server.sockets;
  }

  get port(): number {
    return this.server.port;
  }

  get versions(): string[] {
    return this.opts.versions ?? ['6.5', '6.10', '7.1', '7.2'];
  }

  get sessionMode(): SessionMode {
    return this.opts.sessionMode ?? 'cookie';
  }

  /** The REST base (what a source's `url` is). */
  get url(): string {
    return this.server.url('http');
  }

  /** An element's href as this server writes it, e.g. href('7.2', SEED_ENGINE_NODE). */
  href(version: string, path: string): string {
    return `${this.url}/${version}/${path}`;
  }

  /** Element paths a status subscription may name. */
  get elementPaths(): readonly string[] {
    return this.elements;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  start(): Promise<number> {
    return this.server.listen();
  }

  // ---- REST ----

  private json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string | string[]> = {}): void {
    const req = res.req;
    this.requests.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://x').pathname, status, headers: req.headers });
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'Content-Type': 'application/json' } : {}), 'Content-Length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  private route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/api' && req.method === 'GET') {
      return this.json(res, 200, { version: this.versions.map((v) => ({ href: `${this.url}/${v}/api`, rel: v })) });
    }
    const m = /^\/([^/]+)\/(.*)$/.exec(path);
    const version = m?.[1] ?? '';
    if (!m || !this.versions.includes(version)) return this.json(res, 404, { details: 'Not Found' });
    const rest = m[2];
    if (rest === 'login') {
      if (req.method !== 'POST') return this.json(res, 405, { details: 'Method Not Allowed' });
      return this.login(req, res, version, body);
    }
    const sess = this.sessionOf(req.headers);
    if (!sess) return this.json(res, 401, { status: 401, message: 'Not logged in' });
    if (rest === 'logout') {
      if (req.method !== 'PUT') return this.json(res, 405, { details: 'Method Not Allowed' });
      this.logouts++;
      this.endSession(sess, 1000, 'Logged out');
      return this.json(res, 204);
    }
    if (rest === 'api' && req.method === 'GET') return this.json(res, 200, { entry_point: [] });
    return this.json(res, 404, { details: 'Not Found' });
  }

  private login(req: IncomingMessage, res: ServerResponse, version: string, body: string): void {
    const limit = this.opts.rateLimit;
    if (limit && this.rateLimited < limit.logins) {
      this.rateLimited++;
      return this.json(res, 429, { details: 'Too Many Requests' }, limit.retryAfterS !== undefined ? { 'Retry-After': String(limit.retryAfterS) } : {});
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      this.loginFailures++;
      return this.json(res, 415, { details: 'Unsupported Media Type' });
    }
    let creds: { authenticationkey?: unknown; domain?: unknown };
    try {
      creds = JSON.parse(body);
    } catch {
      this.loginFailures++;
      return this.json(res, 400, { details: 'Bad Request' });
    }
    const domainOk = creds.domain === undefined || creds.domain === '' || (this.opts.domains ?? ['Shared Domain']).includes(String(creds.domain));
    if (creds.authenticationkey !== this.opts.apiKey || !domainOk) {
      this.loginFailures++;
      return this.json(res, 401, { status: 401, message: 'Login failed' });
    }
    this.logins++;
    const ssl = this.sessionMode === 'ssl';
    // SSL-session mode: no cookie at all, the session is the token the client must send back.
    const key = ssl ? (this.opts.newToken?.() ?? randomBytes(24).toString('base64url')) : randomBytes(16).toString('hex').toUpperCase();
    const sess: Sess = { key, version, sockets: new Set() };
    this.sessions.set(key, sess);
    if ((this.opts.sessionTtlMs ?? 0) > 0) sess.timer = setTimeout(() => this.endSession(sess, 1008, 'Session expired'), this.opts.sessionTtlMs);
    const headers: Record<string, string | string[]> = {};
    if (ssl) {
      this.tokens.push(key);
      headers.Authorization = key;
    } else {
      headers['Set-Cookie'] = `JSESSIONID=${key}; Path=/; HttpOnly`;
      // Newer servers send a token beside the cookie; in cookie mode it is not what identifies the session.
      if (!versionLE(version, '6.10')) headers.Authorization = `Bearer ${randomBytes(12).toString('hex')}`;
    }
    this.json(res, 200, undefined, headers);
  }

  /** The session a REST call names: its JSESSIONID cookie, or in SSL-session mode its Authorization header. */
  private sessionOf(headers: IncomingMessage['headers']): Sess | undefined {
    if (this.sessionMode === 'ssl') {
      const token = headers.authorization;
      return token ? this.sessions.get(token) : undefined;
    }
    const m = /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(headers.cookie ?? '');
    return m ? this.sessions.get(m[1]!) : undefined;
  }

  /** The session an upgrade names: its cookie, or in SSL-session mode the subprotocol pair `access_token, <token>`. */
  private socketSessionOf(headers: IncomingMessage['headers']): Sess | undefined {
    if (this.sessionMode !== 'ssl') return this.sessionOf(headers);
    const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const at = offered.indexOf('access_token');
    const token = at >= 0 ? offered[at + 1] : undefined;
    return token ? this.sessions.get(token) : undefined;
  }

  private endSession(sess: Sess, code: number, reason: string): void {
    clearTimeout(sess.timer);
    this.sessions.delete(sess.key);
    for (const ws of sess.sockets) ws.close(code, reason);
  }

  /** Expires every session now: REST answers 401, their sockets close. */
  expireSessions(): void {
    for (const s of [...this.sessions.values()]) this.endSession(s, 1008, 'Session expired');
  }

  // ---- sockets ----

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/([^/]+)\/(notification|status)\/socket$/.exec(path);
    const kind = (m?.[2] ?? '') as SocketKind;
    if (!m || !this.versions.includes(m[1]!)) {
      this.upgrades.push({ kind, path, status: 404, headers: req.headers });
      return refuseUpgrade(socket, 404);
    }
    if (req.headers.origin !== undefined) {
      this.originRejected++;
      this.upgrades.push({ kind, path, status: 403, headers: req.headers });
      return refuseUpgrade(socket, 403);
    }
    const sess = this.socketSessionOf(req.headers);
    if (!sess) {
      this.upgrades.push({ kind, path, status: 401, headers: req.headers });
      return refuseUpgrade(socket, 401);
    }
    this.upgrades.push({ kind, path, status: 101, headers: req.headers });
    this.server.accept(req, socket, head, (ws) => this.session(ws, kind, m[1]!, sess));
  }

  private session(ws: WebSocket, kind: SocketKind, version: string, sess: Sess): Conn & { n: number } {
    const n = ++this.connections[kind];
    const conn = { kind, version, session: sess, nextId: 0, channels: new Map<number, Channel>(), n };
    sess.sockets.add(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      this.clientMessages.push({ kind, connection: n, text });
      if (!isBinary && data.length > (this.opts.maxMessageBytes ?? 8192)) {
        ws.close(1009, TOO_BIG_REASON);
        return;
      }
      this.command(ws, conn, text);
    });
    ws.on('ping', (data: Buffer) => {
      this.onPing?.();
      if (this.autoPong) ws.pong(data);
    });
    ws.on('close', () => {
      for (const ch of conn.channels.values()) ch.stop?.();
      sess.sockets.delete(ws);
    });
    return conn;
  }

  private command(ws: WebSocket, conn: Conn & { n: number }, text: string): void {
    let cmd: Record<string, unknown>;
    try {
      cmd = JSON.parse(text);
      if (typeof cmd !== 'object' || cmd === null || Array.isArray(cmd)) throw new Error('not an object');
    } catch {
      return ws.send(JSON.stringify({ failure: `Invalid message: ${text.slice(0, 100)}` }));
    }
    if ('unsubscribe' in cmd) {
      const id = cmd.unsubscribe;
      const ch = typeof id === 'number' ? conn.channels.get(id) : undefined;
      if (!ch) return ws.send(JSON.stringify({ failure: `Unknown subscription: ${JSON.stringify(id)}` }));
      ch.stop?.();
      conn.channels.delete(ch.id);
      return ws.send(JSON.stringify({ success: 'Unsubscribed', subscription_id: ch.id }));
    }
    if (conn.kind === 'notification' && 'context' in cmd) {
      if (typeof cmd.context !== 'string') return ws.send(JSON.stringify({ failure: 'Invalid context' }));
      const ctx = cmd.context.trim();
      let context: Set<string> | '*';
      if (ctx === '' || ctx === '*') context = '*';
      else {
        const names = ctx.split(', ');
        const bad = names.find((r) => !REL_NAMES.has(r));
        if (bad !== undefined) return ws.send(JSON.stringify({ failure: `Unknown context: ${bad}` }));
        context = new Set(names);
      }
      const id = conn.nextId++;
      conn.channels.set(id, { id, context });
      return ws.send(JSON.stringify({ success: 'Subscribed for notification', subscription_id: id }));
    }
    if (conn.kind === 'status' && 'context' in cmd) {
      const type = typeof cmd.context === 'string' ? cmd.context.trim() : '';
      const rel = STATUS_CONTEXTS[type];
      if (rel === undefined) return ws.send(JSON.stringify({ failure: `Unknown context: ${type.slice(0, 100)}` }));
      const id = conn.nextId++;
      const ch: Channel = { id, context: new Set([type]), paths: this.elements.filter((p) => p.startsWith(`elements/${rel}/`)) };
      conn.channels.set(id, ch);
      ws.send(JSON.stringify({ success: 'Subscribed for status', subscription_id: id }));
      this.startStatus(ws, conn, ch);
      return;
    }
    if (conn.kind === 'status' && 'element' in cmd) {
      const href = typeof cmd.element === 'string' ? cmd.element : '';
      const at = href.indexOf('/elements/');
      const path = at >= 0 ? href.slice(at + 1) : '';
      if (!this.elements.includes(path)) return ws.send(JSON.stringify({ failure: `Element not found: ${href}` }));
      const id = conn.nextId++;
      const ch: Channel = { id, element: path, paths: [path] };
      conn.channels.set(id, ch);
      ws.send(JSON.stringify({ success: 'Subscribed for status', subscription_id: id }));
      this.startStatus(ws, conn, ch);
      return;
    }
    return ws.send(JSON.stringify({ failure: `Unknown command: ${Object.keys(cmd).join(', ')}` }));
  }

  private startStatus(ws: WebSocket, conn: Conn & { n: number }, ch: Channel): void {
    let seq = 0;
    const base = `${this.url}/${conn.version}`;
    const byContext = ch.element === undefined;
    const one = () => {
      if (ws.readyState !== ws.OPEN) return;
      const n = seq++;
      for (const path of ch.paths ?? []) {
        this.faultsBefore(ws, ch.id);
        let status = elementStatus(base, path, n);
        // A family subscription's statuses must say whose they are (how a real SMC does it is unconfirmed).
        if (byContext && (this.opts.contextIdentity ?? 'href') === 'href') status = { ...status, href: `${base}/${path}` };
        const frame = { status: { status }, subscription_id: ch.id };
        ws.send(JSON.stringify(frame));
        this.sent.push({ kind: 'status', connection: conn.n, subscriptionId: ch.id, frame, path });
        this.statusFrames++;
      }
    };
    one(); // the current status follows the subscription
    const every = this.opts.statusEveryMs ?? 0;
    if (every > 0) {
      const t = this.server.every(every, one);
      ch.stop = () => this.server.cancel(t);
    }
  }

  private faultsBefore(ws: WebSocket, id: number): void {
    const f = this.opts.faults;
    if (!f) return;
    const n = this.statusFrames;
    const hit = (every?: number) => !!every && n % every === every - 1;
    if (hit(f.malformedEvery)) ws.send('{"status": {"status": ');
    if (hit(f.unknownEvery)) ws.send(JSON.stringify({ heartbeat: Date.now(), subscription_id: id }));
    if (hit(f.badStatusEvery)) ws.send(JSON.stringify({ status: 'READY', subscription_id: id }));
    if (hit(f.oversizedEvery)) ws.send(JSON.stringify({ status: { status: { name: 'x'.repeat(f.oversizedBytes ?? 1024 * 1024) } }, subscription_id: id }));
  }

  /** One element change, delivered on every matching channel of every notification socket. */
  change(type?: string, path?: string): void {
    const c = type && path ? { type, path } : CHANGES[this.changeSeq++ % CHANGES.length]!;
    const relName = /^elements\/([^/]+)/.exec(c.path)?.[1] ?? '';
    for (const [ws, conn] of this.conns) {
      if (conn.kind !== 'notification' || ws.readyState !== ws.OPEN) continue;
      const event = { type: c.type, element: `${this.url}/${conn.version}/${c.path}` };
      for (const ch of conn.channels.values()) {
        if (ch.context !== '*' && !ch.context?.has(relName)) continue;
        const frame = versionLE(conn.version, '6.5') ? { events: [event], subscription_id: ch.id } : { event, subscription_id: ch.id };
        ws.send(JSON.stringify(frame));
        this.sent.push({ kind: 'notification', connection: conn.n, subscriptionId: ch.id, frame, path: c.path });
      }
    }
  }

  /** Sends raw text on every open socket of `kind` (tests: malformed, unknown, oversized frames). */
  inject(kind: SocketKind, text: string): void {
    for (const [ws, conn] of this.conns) if (conn.kind === kind && ws.readyState === ws.OPEN) ws.send(text);
  }

  /** Drops every client connection the way a restarting server does (sessions survive). */
  closeAll(code = 1001, reason = 'Server shutting down'): void {
    this.server.closeAll(code, reason);
  }

  /** Open sockets of a kind. */
  open(kind: SocketKind): number {
    let n = 0;
    for (const [ws, c] of this.conns) if (c.kind === kind && ws.readyState === ws.OPEN) n++;
    return n;
  }

  /** Subscriptions live on the open sockets of a kind (id → context or element path). */
  channels(kind: SocketKind): { connection: number; id: number; what: string }[] {
    const out: { connection: number; id: number; what: string }[] = [];
    for (const [ws, c] of this.conns) {
      if (c.kind !== kind || ws.readyState !== ws.OPEN) continue;
      for (const ch of c.channels.values()) out.push({ connection: c.n, id: ch.id, what: ch.element ?? (ch.context === '*' ? '*' : [...(ch.context ?? [])].join(', ')) });
    }
    return out;
  }

  stop(): Promise<void> {
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    return this.server.stop();
  }
}
