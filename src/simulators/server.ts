import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';

export interface SimServerOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate (plain HTTP without). */
  tls?: { cert: string; key: string };
  /** The REST half; every request is answered 404 without it. */
  rest?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Every upgrade request: the simulator refuses it (refuseUpgrade) or accept()s it. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** `ws` options beyond the ones every simulator shares (no compression, upgrades handed over by `upgrade`). */
  ws?: Omit<ServerOptions, 'noServer' | 'server' | 'port' | 'host' | 'perMessageDeflate'>;
}

/**
 * The plumbing every vendor simulator shares: an HTTP(S) server and a `ws` server on one port, the
 * accepted sockets with the simulator's state for each (kept until the socket closes), the interval
 * timers, close-all and stop. What a vendor checks at the upgrade, and what it answers, stays in its
 * own simulator.
 */
export class SimServer<S = void> {
  readonly http: HttpServer | HttpsServer;
  readonly wss: WebSocketServer;
  /** Open sockets the simulator accepted, with its state for each. */
  readonly sockets = new Map<WebSocket, S>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(private readonly opts: SimServerOptions) {
    const rest = opts.rest ?? ((_req: IncomingMessage, res: ServerResponse) => void res.writeHead(404).end());
    this.http = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, rest) : createHttpServer(rest);
    this.wss = new WebSocketServer({ ...opts.ws, noServer: true, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => opts.upgrade(req, socket, head));
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  /** `<scheme>://host:port<path>`. */
  url(scheme: string, path = ''): string {
    return `${scheme}://${this.host}:${this.port}${path}`;
  }

  /** Listens on the port asked for (0: any free one); resolves with the port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.http.listen(this.opts.port ?? 0, this.host, resolve));
    const addr = this.http.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  /** Completes an upgrade; `serve` sets the socket up and gives its state, kept in `sockets` until it closes. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, serve: (ws: WebSocket) => S): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.set(ws, serve(ws));
      ws.on('close', () => this.sockets.delete(ws));
    });
  }

  /** An interval timer, cleared by cancel() or at stop(). */
  every(ms: number | undefined, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    this.timers.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout): void {
    clearInterval(t);
    this.timers.delete(t);
  }

  /** Closes every accepted socket with a close frame, as a restarting server or a proxy does. */
  closeAll(code: number, reason?: string): void {
    for (const ws of this.sockets.keys()) ws.close(code, reason);
  }

  /**
   * Stops the timers, drops every accepted socket without a close frame and closes the port.
   * `dropConnections`: also cut the HTTP connections kept alive (REST clients), else close waits for them.
   */
  async stop(dropConnections = false): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    if (dropConnections) this.http.closeAllConnections();
    await closed;
  }
}

/** Reads a request's whole body as UTF-8, then calls `then` with it. */
export function readBody(req: IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}

/**
 * A socket's idle limit: arm() (re)starts it, clear() ends it; `onIdle` runs when it runs out.
 * `ms` undefined: no limit.
 */
export function idleTimer(ms: number | undefined, onIdle: () => void): { arm(): void; clear(): void } {
  let t: NodeJS.Timeout | undefined;
  return {
    arm() {
      if (ms === undefined) return;
      clearTimeout(t);
      t = setTimeout(onIdle, ms);
    },
    clear: () => clearTimeout(t),
  };
}
