import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { EVENT_CLASSES, errorEnvelope, isEventClass, type EventClass, type SysadmMessage } from '../sources/sysadm/wire.js';
import { selfSignedCert, type SelfSigned } from './sysadm_tls.js';
import { idleTimer, SimServer } from './server.js';

/**
 * A sysadm server as src/sources/sysadm/README.md ("Protocol") describes it (the server's source, not its docs): TLS only
 * (a self-signed certificate made with openssl unless one is given), the {namespace,name,id,args}
 * envelope, error envelopes with string codes, `rpc identify` before auth, `rpc auth`/`auth_token` →
 * ["<token>", 900] with the token's life extended by every authenticated call, `auth_clear` without a
 * reply, `events subscribe`/`unsubscribe` (the cached event of each class sent at once, before the
 * reply), event pushes with hyphenated names and id "", the `bridge` message sent unasked,
 * `sysadm systemmanager` polls, `rpc query` (authenticated: it extends the token, identify does not),
 * and the close of a socket that sent nothing for the idle limit (WebSocket pings do not count, as in the
 * Qt server). It can be told to send malformed, oversized or unknown frames, to restart (every token
 * forgotten), to be a bridge, and to send a `zpool` row whose columns shifted.
 */
export interface SysadmSimulatorOptions {
  host?: string;
  port?: number;
  /** username → password */
  users: Record<string, string>;
  /** Users whose systemmanager calls are refused with 403 (no full access). */
  restrictedUsers?: string[];
  /** The certificate to serve; a fresh self-signed one when absent. */
  tls?: { cert: string; key: string };
  hostname?: string;
  /** Token lifetime in seconds (900 on a real server). */
  tokenLifetimeSec?: number;
  /** Token lifetime in ms, for scaled tests; overrides tokenLifetimeSec. */
  tokenTtlMs?: number;
  /**
   * Close a socket once its token expired (checked every tenth of the lifetime): a client that lets its
   * token lapse is refused on every call from then on; closing makes that visible at once.
   */
  closeOnTokenExpiry?: boolean;
  /** Restart (drop every socket, forget every token and cached event) every this many ms. */
  restartEveryMs?: number;
  /** Be a sysadm bridge (port 12149): identify says `type: "bridge"` and a server login is refused. */
  bridge?: boolean;
  /** Add a pool whose `zpool list` columns shifted by one (a newer ZFS's extra column): health is "1.00x". */
  shiftedZpool?: boolean;
  /** Close a socket after this long without a message from the client (30 min on a real server). */
  idleTimeoutMs?: number;
  /** Periods of fresh events, ms (0: only the cached one at subscribe). */
  systemStateEveryMs?: number;
  lifePreserverEveryMs?: number;
  dispatcherEveryMs?: number;
  /** No event has happened yet: subscribing sends "" for each class. */
  emptyCache?: boolean;
  /** Every this many ms, send one bad frame (malformed, unknown, oversized in turn) to every client. */
  faultsEveryMs?: number;
  oversizedBytes?: number;
  /**
   * The real server's lockout: `attempts` refused logins from one address within `windowMs` block it
   * for `blockMs` (5, 10 min, 60 min); a blocked address's socket is accepted and closed at once.
   */
  lockout?: { attempts: number; windowMs: number; blockMs: number };
  /** The clock of the lockout and of token expiry (tests pass a fake one); Date.now by default. */
  now?: () => number;
}

interface SocketState {
  token: string;
  user: string;
  subscribed: Set<EventClass>;
  addr: string;
}

export interface SentEvent {
  name: string;
  args: unknown;
}

export function zpoolRows(seq: number, shifted = false): Record<string, Record<string, string>> {
  return {
    tank: { size: '1.81T', alloc: `${(400 + (seq % 50)).toFixed(0)}G`, free: `${(1453 - (seq % 50)).toFixed(0)}G`, frag: '12%', expandsz: '-', dedup: '1.00x', altroot: '-', capacity: '21%', health: 'ONLINE' },
    zroot: { size: '107G', alloc: '6.55G', free: '100G', frag: '6%', expandsz: '-', dedup: '1.00x', altroot: '-', capacity: '6%', health: seq % 4 === 3 ? 'DEGRADED' : 'ONLINE' },
    // A newer `zpool list` adds CKPOINT after FREE; read by position, every later field moves one place.
    ...(shifted ? { backup: { size: '3.62T', alloc: '1.20T', free: '2.42T', frag: '-', expandsz: '-', dedup: '21%', altroot: 'ONLINE', capacity: '4%', health: '1.00x' } } : {}),
  };
}

export class SysadmSimulator {
  private readonly server: SimServer<SocketState>;
  private readonly cert: SelfSigned | undefined;
  /** token → expiry (epoch ms). */
  private readonly tokens = new Map<string, number>();
  private readonly cache = new Map<EventClass, Record<string, unknown>>();
  readonly clientMessages: SysadmMessage[] = [];
  readonly sent: SentEvent[] = [];
  connections = 0;
  authFailures = 0;
  idleCloses = 0;
  /** Addresses blocked so far, and sockets accepted and closed at once because of a block. */
  lockouts = 0;
  blockedConnections = 0;
  /** Sockets closed because their token expired (closeOnTokenExpiry), and restarts so far. */
  tokenExpiryCloses = 0;
  restarts = 0;
  /** Every token handed out by `rpc auth`, oldest first. */
  readonly issuedTokens: string[] = [];
  private readonly refused = new Map<string, number[]>();
  private readonly blockedUntil = new Map<string, number>();
  private seq = 0;

  constructor(private readonly opts: SysadmSimulatorOptions) {
    const tls = opts.tls ?? (this.cert = selfSignedCert());
    this.server = new SimServer({ host: opts.host, port: opts.port, tls, upgrade: (req, socket, head) => this.upgrade(req, socket, head) });
    if (!opts.emptyCache) for (const c of EVENT_CLASSES) this.cache.set(c, this.makeEvent(c));
  }

  /** Every upgrade is accepted: the server checks credentials in messages, not at the upgrade. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const addr = req.socket.remoteAddress ?? '';
    if (this.isBlocked(addr)) {
      this.server.wss.handleUpgrade(req, socket, head, (ws) => {
        this.blockedConnections++;
        ws.close(); // accepted, then closed at once: what a blocked client sees
      });
      return;
    }
    this.server.accept(req, socket, head, (ws) => this.session(ws, addr));
  }

  private get sockets(): Map<WebSocket, SocketState> {
    return this.server.sockets;
  }

  get port(): number {
    return this.server.port;
  }

  private get tokenTtlMs(): number {
    return this.opts.tokenTtlMs ?? (this.opts.tokenLifetimeSec ?? 900) * 1000;
  }

  /** PEM of the certificate served (what a user would put in `tls.ca_file`). */
  get certFile(): string {
    if (!this.cert) throw new Error('the simulator serves a certificate it was given');
    return this.cert.certFile;
  }

  get url(): string {
    return this.server.url('wss');
  }

  get hostname(): string {
    return this.opts.hostname ?? 'trueos-sim';
  }

  async start(): Promise<number> {
    await this.server.listen();
    const every = (ms: number | undefined, f: () => void) => {
      if (ms && ms > 0) this.server.every(ms, f);
    };
    every(this.opts.systemStateEveryMs, () => this.push('system-state'));
    every(this.opts.lifePreserverEveryMs, () => this.push('life-preserver'));
    every(this.opts.dispatcherEveryMs, () => this.push('dispatcher'));
    every(this.opts.restartEveryMs, () => this.restart());
    if (this.opts.closeOnTokenExpiry) {
      every(Math.max(10, this.tokenTtlMs / 10), () => {
        for (const [ws, s] of this.sockets) {
          if (s.token === '' || this.tokenLive(s.token)) continue;
          this.tokenExpiryCloses++;
          ws.close(1000);
        }
      });
    }
    let f = 0;
    every(this.opts.faultsEveryMs, () => {
      const kind = f++ % 3;
      if (kind === 0) this.sendMalformed();
      else if (kind === 1) this.sendUnknown();
      else this.sendOversized(this.opts.oversizedBytes ?? 1024 * 1024);
    });
    return this.port;
  }

  /** A fresh event of the class, in the server's shape (see src/sources/sysadm/README.md, "Protocol"). */
  makeEvent(type: EventClass): Record<string, unknown> {
    const seq = ++this.seq;
    const now = new Date();
    switch (type) {
      case 'system-state':
        return {
          hostname: this.hostname,
          zpools: zpoolRows(seq, this.opts.shiftedZpool),
          updates: { status: seq % 5 === 4 ? 'updatesavailable' : 'noupdates', details: '', last_check: now.toISOString() },
          priority: seq % 4 === 3 ? '4 - Warning' : '0 - Information',
        };
      case 'life-preserver':
        return { message: `${now.toISOString()}: Created snapshot tank@auto-${seq}`, priority: '1 - Information', class: 'snapshot' };
      case 'dispatcher':
        return {
          state: 'finished', cmd_list: ['pkg upgrade -y'], process_id: `sysadm_pkg_upgrade-${seq}`,
          time_started: new Date(now.getTime() - 2000).toISOString(), time_finished: now.toISOString(), current_cmd: '',
          'return_codes/pkg upgrade -y': '0', queue_position: '0',
        };
    }
  }

  /** A new event of the class: cached, and sent to every socket subscribed to it. */
  push(type: EventClass, args: Record<string, unknown> = this.makeEvent(type)): void {
    this.cache.set(type, args);
    for (const [ws, s] of this.sockets) if (s.subscribed.has(type)) this.sendEvent(ws, type, args);
  }

  private sendEvent(ws: WebSocket, name: string, args: unknown): void {
    this.sent.push({ name, args });
    this.send(ws, { namespace: 'events', name, id: '', args });
  }

  private send(ws: WebSocket, msg: SysadmMessage | string): void {
    if (ws.readyState === ws.OPEN) ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The bridge's connection list: every client gets it, subscribed or not. */
  sendBridge(): void {
    for (const ws of this.sockets.keys()) this.send(ws, { namespace: 'events', name: 'bridge', id: '', args: { available_connections: ['client-1'] } });
  }

  sendMalformed(): void {
    for (const ws of this.sockets.keys()) this.send(ws, '{"namespace":"events","name":"system-state","id":"","args":{');
  }

  sendUnknown(): void {
    for (const ws of this.sockets.keys()) this.send(ws, { namespace: 'events', name: 'kernel-panic', id: '', args: { message: 'no such class' } });
  }

  sendOversized(bytes: number): void {
    for (const ws of this.sockets.keys()) this.send(ws, { namespace: 'events', name: 'life-preserver', id: '', args: { message: 'x'.repeat(bytes), priority: '1 - Information', class: 'snapshot' } });
  }

  /** Forgets every token now, as 900 s without an authenticated call would. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /**
   * A server restart: tokens live only in its memory and its event cache is rebuilt, so every token is
   * forgotten, every socket dropped, and the next subscribe replays nothing ("").
   */
  restart(): void {
    this.restarts++;
    this.tokens.clear();
    this.cache.clear();
    this.closeAll();
  }

  /** Drops every client, as a network cut or a proxy would; restart() also forgets what the server knew. */
  closeAll(code = 1001, reason = 'server shutting down'): void {
    this.server.closeAll(code, reason);
  }

  /** The token is known and not expired; reading it does not extend it. */
  private tokenLive(token: string): boolean {
    const exp = this.tokens.get(token);
    if (exp === undefined) return false;
    if (exp > this.now()) return true;
    this.tokens.delete(token);
    return false;
  }

  private checkAuth(token: string): boolean {
    if (!this.tokenLive(token)) return false;
    this.tokens.set(token, this.now() + this.tokenTtlMs); // every authenticated call extends it
    return true;
  }

  /** Blocks `addr` now, as if it had reached the lockout threshold. */
  block(addr: string): void {
    const l = this.opts.lockout ?? { attempts: 5, windowMs: 600_000, blockMs: 3_600_000 };
    this.blockedUntil.set(addr, this.now() + l.blockMs);
    this.lockouts++;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private isBlocked(addr: string): boolean {
    const until = this.blockedUntil.get(addr);
    return until !== undefined && this.now() < until;
  }

  private refuse(addr: string): void {
    this.authFailures++;
    const l = this.opts.lockout;
    if (!l) return;
    const now = this.now();
    const list = (this.refused.get(addr) ?? []).filter((t) => t > now - l.windowMs);
    list.push(now);
    this.refused.set(addr, list);
    if (list.length >= l.attempts) {
      this.refused.delete(addr);
      this.block(addr);
    }
  }

  private session(ws: WebSocket, addr: string): SocketState {
    this.connections++;
    const s: SocketState = { token: '', subscribed: new Set<EventClass>(), user: '', addr };
    const idle = idleTimer(this.opts.idleTimeoutMs ?? 30 * 60_000, () => {
      this.idleCloses++;
      ws.close(1000); // QWebSocket::close(): CloseCodeNormal, no reason
    });
    idle.arm();
    // Only text and binary messages reset the idle timer; pings (answered by ws) do not.
    ws.on('message', (data: Buffer) => {
      idle.arm();
      this.request(ws, s, data.toString('utf8'));
    });
    ws.on('close', () => idle.clear());
    ws.on('error', () => undefined);
    return s;
  }

  private reply(ws: WebSocket, req: SysadmMessage, args: unknown): void {
    this.send(ws, { namespace: req.namespace, name: req.id === '' ? req.name : 'response', id: req.id, args });
  }

  private request(ws: WebSocket, s: SocketState, text: string): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return this.send(ws, errorEnvelope('', '400'));
    }
    const r = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
    const req: SysadmMessage = {
      namespace: typeof r.namespace === 'string' ? r.namespace : '',
      name: typeof r.name === 'string' ? r.name : '',
      id: typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : '',
      args: r.args,
    };
    this.clientMessages.push(req);
    if (req.name === '' || req.namespace === '') return this.send(ws, errorEnvelope(req.id, '400'));
    const ns = req.namespace.toLowerCase();
    const obj = typeof req.args === 'object' && req.args !== null && !Array.isArray(req.args) ? (req.args as Record<string, unknown>) : undefined;

    // identify needs no token and does not extend one.
    if (ns === 'rpc' && req.name === 'identify') return this.reply(ws, req, { type: this.opts.bridge ? 'bridge' : 'server', hostname: this.hostname });
    if (ns === 'rpc' && req.name.startsWith('auth')) {
      this.tokens.delete(s.token); // a new auth request clears the socket's old token first
      s.token = '';
      let token = '';
      if (req.name === 'auth' && obj) {
        const user = typeof obj.username === 'string' ? obj.username : '';
        const pass = typeof obj.password === 'string' ? obj.password : '';
        // A bridge knows none of the server's users: its clients authenticate another way.
        if (!this.opts.bridge && user !== '' && Object.hasOwn(this.opts.users, user) && this.opts.users[user] === pass) {
          token = randomBytes(16).toString('hex');
          this.tokens.set(token, this.now() + this.tokenTtlMs);
          this.issuedTokens.push(token);
          s.user = user;
        }
      } else if (req.name === 'auth_token' && obj) {
        token = typeof obj.token === 'string' ? obj.token : '';
      } else if (req.name === 'auth_clear') {
        return; // no reply
      }
      if (token !== '' && this.checkAuth(token)) {
        s.token = token;
        return this.reply(ws, req, [token, Math.ceil(this.tokenTtlMs / 1000)]);
      }
      this.refuse(s.addr);
      return this.send(ws, errorEnvelope(req.id, '401'));
    }
    if (!this.checkAuth(s.token)) return this.send(ws, errorEnvelope(req.id, '401'));

    if (ns === 'events') {
      const list = typeof req.args === 'string' ? [req.args] : Array.isArray(req.args) ? req.args.map((x) => String(x)) : [];
      const sub = req.name === 'subscribe' ? 1 : req.name === 'unsubscribe' ? 0 : -1;
      const valid = list.filter(isEventClass);
      if (sub < 0 || valid.length === 0) return this.send(ws, errorEnvelope(req.id, '400'));
      for (const c of valid) {
        if (sub === 1) {
          s.subscribed.add(c);
          this.sendEvent(ws, c, this.cache.get(c) ?? ''); // the last cached event, before the reply
        } else {
          s.subscribed.delete(c);
        }
      }
      return this.reply(ws, req, { [req.name]: valid[valid.length - 1] });
    }
    if (ns === 'rpc' && req.name === 'query') return this.reply(ws, req, { 'rpc/identify': 'r', 'rpc/query': 'r', 'events/subscribe': 'r', 'sysadm/systemmanager': 'rw' });
    if (ns === 'sysadm' && req.name === 'systemmanager') {
      if ((this.opts.restrictedUsers ?? []).includes(s.user)) return this.send(ws, errorEnvelope(req.id, '403'));
      const action = obj && typeof obj.action === 'string' ? obj.action : '';
      const data = this.systemmanager(action);
      if (!data) return this.send(ws, errorEnvelope(req.id, '400'));
      return this.reply(ws, req, { [action]: data });
    }
    return this.send(ws, errorEnvelope(req.id, '404'));
  }

  private systemmanager(action: string): Record<string, unknown> | undefined {
    const seq = ++this.seq;
    switch (action) {
      case 'memorystats':
        return { free: String(1024 + (seq % 64)), inactive: '2048', cache: '0', wired: '3072', active: String(4096 - (seq % 64)) };
      case 'cpupercentage':
        return { cpu0: { busy: String(seq % 100) }, cpu1: { busy: String((seq * 3) % 100) }, busytotal: String(Math.round(((seq % 100) + ((seq * 3) % 100)) / 2)) };
      case 'cputemps':
        return { cpu0: `${(40 + (seq % 10)).toFixed(1)}C`, cpu1: `${(42 + (seq % 10)).toFixed(1)}C` };
      default:
        return undefined;
    }
  }

  async stop(): Promise<void> {
    await this.server.stop(true);
    this.cert?.cleanup();
  }
}
