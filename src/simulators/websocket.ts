import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { refuseUpgrade } from './refuse_upgrade.js';
import { idleTimer, readBody, SimServer } from './server.js';

/**
 * A made-up but typical JSON-over-WebSocket API for exercising `type: websocket` where the Mist
 * simulator cannot: an HTTP login that returns a token in its JSON body and a session cookie, a
 * socket that takes that credential as a Bearer header, a cookie or a URL suffix, a subscribe
 * message, an idle timeout that only an application heartbeat prevents, metric frames with
 * millisecond timestamps and event frames with ISO 8601 ones.
 *
 * Protocol:
 * - `POST /api/login` `{"username","password"}` → 200 `{"session":{"token":"<t>","ttl":3600}}` and
 *   `Set-Cookie: SESSION=<s>; Path=/; HttpOnly`; wrong credentials → 401 `{"error":"bad credentials"}`.
 *   Every login replaces the previous session: its token and cookie stop working.
 * - Upgrade `GET /stream` with `Authorization: Bearer <t>` (auth 'bearer'), `Cookie: SESSION=<s>`
 *   (auth 'cookie'), or `GET /stream/<t>` (auth 'url'); anything else → 401.
 * - Client `{"op":"subscribe","topics":["metrics","events"]}` → `{"type":"subscribed","topics":[...]}`;
 *   unknown topics or ops → `{"type":"error","message":"..."}`. `{"op":"ping"}` → `{"type":"pong"}`.
 * - `{"type":"metric","topic":"metrics","ts":<epoch ms>,"payload":{"host","site","uptime_s","cpu":{"util":"<numeric string>"},"mem":{"used_bytes"},"ifaces":{"<name>":{"rx_bytes","tx_bytes"}}}}`
 * - `{"type":"event","topic":"events","payload":{"host","time":"<ISO 8601>","level":"info|warning|error","kind","message"}}`
 * - A connection that sends nothing for `idleTimeoutMs` is closed with 4000 "idle timeout".
 */
export interface GenericSimulatorOptions {
  host?: string;
  port?: number;
  username: string;
  password: string;
  auth?: 'bearer' | 'cookie' | 'url';
  hosts?: number;
  /** Period of metric frames (per host round) and event frames, ms. */
  intervalMs?: number;
  /** Close connections that sent nothing for this long (0: never). */
  idleTimeoutMs?: number;
  faults?: { malformedEvery?: number; unknownEvery?: number; badPayloadEvery?: number };
  record?: boolean;
}

export interface SentFrame {
  type: 'metric' | 'event';
  frame: Record<string, unknown>;
}

const TOPICS = new Set(['metrics', 'events']);
const LEVELS = ['info', 'warning', 'error'];
const KINDS = ['config_changed', 'link_down', 'disk_failure'];

export class GenericSimulator {
  private readonly server: SimServer;
  private session: { token: string; cookie: string } | undefined;
  readonly sent: SentFrame[] = [];
  readonly clientMessages: unknown[] = [];
  logins = 0;
  loginFailures = 0;
  authFailures = 0;
  connections = 0;
  idleCloses = 0;
  pings = 0;
  private n = 0;

  constructor(private readonly opts: GenericSimulatorOptions) {
    this.server = new SimServer({
      host: opts.host, port: opts.port,
      rest: (req, res) => this.rest(req, res),
      upgrade: (req, socket, head) => this.upgrade(req, socket, head),
    });
  }

  get port(): number {
    return this.server.port;
  }

  get base(): string {
    return this.server.url('http');
  }

  get url(): string {
    return this.server.url('ws', '/stream');
  }

  /** The current session's token (tests only). */
  get token(): string | undefined {
    return this.session?.token;
  }

  /** The current session's cookie value (tests only). */
  get cookie(): string | undefined {
    return this.session?.cookie;
  }

  start(): Promise<number> {
    return this.server.listen();
  }

  private rest(req: IncomingMessage, res: ServerResponse): void {
    if (req.url !== '/api/login') return void res.writeHead(404).end();
    if (req.method !== 'POST') return void res.writeHead(405, { Allow: 'POST' }).end();
    readBody(req, (body) => {
      let creds: { username?: unknown; password?: unknown } = {};
      try {
        if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) throw new Error('not json');
        creds = JSON.parse(body);
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"expected a JSON body"}');
        return;
      }
      if (creds.username !== this.opts.username || creds.password !== this.opts.password) {
        this.loginFailures++;
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"bad credentials"}');
        return;
      }
      this.logins++;
      this.session = { token: randomBytes(16).toString('hex'), cookie: randomBytes(16).toString('hex') };
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Set-Cookie': [`SESSION=${this.session.cookie}; Path=/; HttpOnly`, 'theme=dark; Path=/'],
      });
      res.end(JSON.stringify({ session: { token: this.session.token, ttl: 3600 } }));
    });
  }

  private authorized(req: IncomingMessage, path: string): boolean {
    const s = this.session;
    if (!s) return false;
    switch (this.opts.auth ?? 'bearer') {
      case 'bearer':
        return path === '/stream' && req.headers.authorization === `Bearer ${s.token}`;
      case 'cookie':
        return path === '/stream' && (req.headers.cookie ?? '').split(/;\s*/).includes(`SESSION=${s.cookie}`);
      case 'url':
        return path === `/stream/${s.token}`;
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!path.startsWith('/stream')) {
      return refuseUpgrade(socket, 404);
    }
    if (!this.authorized(req, path)) {
      this.authFailures++;
      return refuseUpgrade(socket, 401, '{"error":"unauthorized"}');
    }
    this.server.accept(req, socket, head, (ws) => this.serve(ws));
  }

  private serve(ws: WebSocket): void {
    this.connections++;
    const topics = new Set<string>();
    const idle = idleTimer(this.opts.idleTimeoutMs || undefined, () => {
      this.idleCloses++;
      ws.close(4000, 'idle timeout');
    });
    idle.arm();
    const tick = this.server.every(this.opts.intervalMs ?? 1000, () => this.tick(ws, topics));
    ws.on('message', (data: Buffer) => {
      idle.arm();
      let msg: { op?: unknown; topics?: unknown };
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        ws.send(JSON.stringify({ type: 'error', message: 'malformed JSON' }));
        return;
      }
      this.clientMessages.push(msg);
      if (msg.op === 'ping') {
        this.pings++;
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (msg.op === 'subscribe' && Array.isArray(msg.topics) && msg.topics.length && msg.topics.every((t) => TOPICS.has(t as string))) {
        for (const t of msg.topics as string[]) topics.add(t);
        ws.send(JSON.stringify({ type: 'subscribed', topics: [...topics] }));
      } else {
        ws.send(JSON.stringify({ type: 'error', message: msg.op === 'subscribe' ? 'unknown topic' : 'unknown op' }));
      }
    });
    ws.on('close', () => {
      idle.clear();
      this.server.cancel(tick);
    });
  }

  private tick(ws: WebSocket, topics: Set<string>): void {
    if (ws.readyState !== ws.OPEN) return;
    const k = this.n++;
    const f = this.opts.faults ?? {};
    const hit = (every?: number) => !!every && k % every === every - 1;
    if (hit(f.malformedEvery)) ws.send('{"type": "metric", "payload": ');
    if (hit(f.unknownEvery)) ws.send(JSON.stringify({ type: 'maintenance', message: 'window starts soon' }));
    if (hit(f.badPayloadEvery)) ws.send(JSON.stringify({ type: 'metric', topic: 'metrics', ts: Date.now(), payload: 'not an object' }));
    const hosts = this.opts.hosts ?? 2;
    if (topics.has('metrics')) {
      for (let h = 0; h < hosts; h++) {
        const frame = {
          type: 'metric', topic: 'metrics', ts: Date.now(),
          payload: {
            host: `host-${h}`, site: 'lab', uptime_s: 86_400 + k,
            cpu: { util: ((k * 7 + h) % 100).toFixed(1) },
            mem: { used_bytes: 512 * 1024 * 1024 + k },
            ifaces: { eth0: { rx_bytes: 1_000_000 + k * 100, tx_bytes: 2_000_000 + k * 50 }, eth1: { rx_bytes: 10 + k, tx_bytes: 20 + k } },
          },
        };
        ws.send(JSON.stringify(frame));
        if (this.opts.record) this.sent.push({ type: 'metric', frame });
      }
    }
    if (topics.has('events')) {
      const frame = {
        type: 'event', topic: 'events',
        payload: {
          host: `host-${k % hosts}`, time: new Date().toISOString(), level: LEVELS[k % LEVELS.length],
          kind: KINDS[k % KINDS.length], message: `event ${k} on host-${k % hosts}`,
        },
      };
      ws.send(JSON.stringify(frame));
      if (this.opts.record) this.sent.push({ type: 'event', frame });
    }
  }

  /** Drops every client connection the way a restarting server does. */
  closeAll(code = 1012, reason = 'service restart'): void {
    this.server.closeAll(code, reason);
  }

  stop(): Promise<void> {
    return this.server.stop(true); // login clients keep their connections alive
  }
}
