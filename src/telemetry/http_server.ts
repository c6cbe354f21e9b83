import { createServer, type Server } from 'node:http';
import type { Logger } from './logger.js';
import { registry } from './metrics.js';

export interface ReadinessReport {
  ready: boolean;
  components: Record<string, { ready: boolean; detail: string }>;
}

/** /metrics (Prometheus text), /healthz (alive) and /readyz (every component fit), on one listener. */
export async function startHttpServer(address: string, readiness: () => ReadinessReport, log: Logger): Promise<Server | undefined> {
  if (!address) return undefined;
  const idx = address.lastIndexOf(':');
  const host = address.slice(0, idx).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(address.slice(idx + 1));
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
      res.writeHead(report.ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(report));
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
