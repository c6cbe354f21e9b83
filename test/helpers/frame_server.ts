import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A bare WebSocket server that sends whatever a test tells it to, as a hostile or broken vendor server
 * would: raw bytes as text frames (invalid UTF-8 included), any JSON. `onMessage` answers what the
 * client sends (e.g. Mist's channel_subscribed).
 */
export class FrameServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  connections = 0;
  closes = 0;
  port = 0;

  constructor(private readonly onMessage: (msg: unknown, ws: WebSocket) => void = () => {}) {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.wss = new WebSocketServer({ server: this.http, perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
    this.wss.on('connection', (ws) => {
      this.connections++;
      this.sockets.push(ws);
      ws.on('close', () => this.closes++);
      ws.on('message', (data: Buffer) => {
        let msg: unknown;
        try {
          msg = JSON.parse(data.toString('utf8'));
        } catch {
          return;
        }
        this.onMessage(msg, ws);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    const a = this.http.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  /** Sends to the newest connection: a string or object as JSON text, a Buffer as a text frame as is. */
  send(frame: string | Buffer | object): Promise<void> {
    const ws = this.sockets[this.sockets.length - 1];
    if (!ws) throw new Error('no connection');
    const data = Buffer.isBuffer(frame) ? frame : typeof frame === 'string' ? frame : JSON.stringify(frame);
    return new Promise((resolve, reject) => ws.send(data, { binary: false }, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
