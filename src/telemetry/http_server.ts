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

// The listener serves operators and scrapers, never the data path: it is capped so that a flood of
// clients costs bounded memory and CPU. Connections beyond the cap are dropped by Node at accept.
export const MAX_CONNECTIONS = 64;
// A client must send its request head within this (slowloris), the whole request within REQUEST_TIMEOUT_MS.
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
// An idle kept-alive connection is closed after this.
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
// One /metrics render is shared by every scrape that arrives while it runs and for this long after:
// a thousand scrapers cost about one render per interval, not one each.
export const METRICS_REUSE_MS = 100;

/** Renders the registry at most once per METRICS_REUSE_MS, sharing the render in flight. */
function metricsRenderer(): () => Promise<string> {
  // doneAt is 0 while the render runs: every scrape meanwhile waits for that same render.
  let last: { doneAt: number; text: Promise<string> } | undefined;
  return () => {
    if (last && (last.doneAt === 0 || Date.now() - last.doneAt < METRICS_REUSE_MS)) return last.text;
    const entry = { doneAt: 0, text: registry.metrics() };
    last = entry;
    entry.text.then(
      () => (entry.doneAt = Date.now()),
      () => last === entry && (last = undefined), // a failed render is not reused
    );
    return entry.text;
  };
}

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
  const render = metricsRenderer();
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') {
      render().then(
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
      if (!tap.admit()) return void res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`tap serves at most ${tap.maxClients} clients at once\n`);
      const source = new URL(req.url ?? '/', 'http://x').searchParams.get('source') ?? '';
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
      res.flushHeaders();
      tap.add(source, res);
      return;
    }
    res.writeHead(404).end();
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  log.info({ address: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : address }, 'http listener up');
  return server;
}
