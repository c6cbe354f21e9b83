import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The simulators' way to refuse a WebSocket upgrade as a vendor server does: a plain HTTP answer on
 * the raw socket (the client sees `unexpected-response` with this status), then close.
 */
export function refuseUpgrade(socket: Duplex, status: number, json?: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${extra}`;
  const body = json ?? '';
  const type = json === undefined ? '' : 'Content-Type: application/json\r\n';
  socket.end(`${head}${type}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
