import { createServer, type Server } from 'node:http';
import { scrub, type Logger } from './logger.js';
import { registry } from './metrics.js';
import type { TapHub } from './tap.js';
import { parseListenAddress } from '../config/paths.js';

export interface HttpSettings {
  address: string;
  tap: boolean;
  tap_remote: boolean;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export interface ReadinessReport {
  ready: boolean;
  components: Record<string, { ready: boolean; detail: string }>;
}

/** /metrics (Prometheus text), /healthz (alive) and /readyz (every component fit), on one listener. */
export async function startHttpServer(settings: HttpSettings, readiness: () => ReadinessReport, tap: TapHub, log: Logger): Promise<Server | undefined> {
  const address = settings.address;
  if (!address) return undefined;
  const parsed = parseListenAddress(address);
  if (typeof parsed === 'string') throw new Error(parsed);
  const { host, port } = parsed;
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500).end(err.message);
        },
      );
      return;
    }
    if (url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url === '/readyz') {
      const report = readiness();
      // Details carry error texts from peers: scrubbed like log lines.
      res.writeHead(report.ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(scrub(JSON.stringify(report)));
      return;
    }
    if (url === '/tap') {
      // Off by default, loopback only unless allowed: tap shows every event's content.
      if (!settings.tap) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('tap is disabled (http.tap: true enables it)\n');
      if (!settings.tap_remote && !LOOPBACK.test(req.socket.remoteAddress ?? '')) return void res.writeHead(403).end();
      const source = new URL(req.url ?? '/', 'http://x').searchParams.get('source') ?? '';
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
      res.flushHeaders();
      tap.add(source, res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  log.info({ address: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : address }, 'http listener up');
  return server;
}
