import WebSocket from 'ws';
import type { SysadmMessage } from '../../../src/sources/sysadm/wire.js';
import { waitFor } from '../../helpers/net.js';

/** A bare client for poking the simulator: sends envelopes, keeps every message it gets. */
export class RawClient {
  readonly got: SysadmMessage[] = [];
  readonly raw: string[] = [];
  closed: { code: number } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.raw.push(d.toString());
      try {
        this.got.push(JSON.parse(d.toString()));
      } catch {
        /* kept in raw */
      }
    });
    ws.on('close', (code: number) => (this.closed = { code }));
  }

  static async open(url: string, ca: string): Promise<RawClient> {
    const ws = new WebSocket(url, { ca });
    const c = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Sends a request (id must not be empty) and waits for the message answering its id. */
  async call(namespace: string, name: string, id: string, args?: unknown): Promise<SysadmMessage> {
    this.send({ namespace, name, id, args });
    return waitFor(`reply to ${id}`, () => this.got.find((m) => m.id === id), 5000);
  }

  close(): void {
    this.ws.terminate();
  }
}
