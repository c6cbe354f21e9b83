import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { startHttpServer, type ListenerLimits, type ReadinessReport } from '../../src/telemetry/http_server.js';
import { TapHub } from '../../src/telemetry/tap.js';
import { silentLog } from './capture.js';

// The daemon's HTTP listener (/metrics /healthz /readyz /tap) in process, with raw TCP clients that
// can misbehave (send half a request head, never read) as the listener tests need.

const ready = (): ReadinessReport => ({ ready: true, components: {} });

/** What a raw client got: every byte, resolved once the server (or the test) closes the connection. */
export interface RawClient {
  socket: Socket;
  answer: Promise<string>;
}

export class Listener {
  server: Server | undefined;
  port = 0;
  private readonly sockets: Socket[] = [];

  /** Starts the listener on a free loopback port, tap on, with the given limits (defaults otherwise). */
  async start(tap = new TapHub(), limits: Partial<ListenerLimits> = {}): Promise<Server> {
    this.server = await startHttpServer({ address: '127.0.0.1:0', tap: true, tap_remote: false }, ready, tap, silentLog, limits);
    this.port = (this.server!.address() as AddressInfo).port;
    return this.server!;
  }

  /** A raw client: connects, sends `request` (if any), keeps what it receives. */
  raw(request?: string): RawClient {
    const socket = connect(this.port, '127.0.0.1');
    this.sockets.push(socket);
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
    socket.on('error', () => undefined);
    if (request) socket.write(request);
    return { socket, answer };
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
