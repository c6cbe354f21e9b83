import { createServer, type Server } from 'node:http';
import { hasSecrets, scrub, type Logger } from './logger.js';
import { registry } from './metrics.js';
import type { TapHub } from './tap.js';
import { parseListenAddress } from '../config/paths.js';

export interface HttpSettings {
  address: string;
  tap: boolean;
  tap_remote: boolean;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The listener serves operators and scrapers, never the data path: its limits keep a flood of clients
 * to bounded memory and CPU. The daemon takes the defaults; tests pass small values to see them act.
 */
export interface ListenerLimits {
  /** Connections held at once; Node drops more at accept. */
  maxConnections: number;
  /** A client must send its request head within this (slowloris), or it gets 408 and is closed. */
  headersTimeoutMs: number;
  /** ... and the whole request within this. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /**
   * How often Node looks for connections over the two limits above. Its default (30 s) would let a
   * slow client hold a socket for up to 30 s past its limit.
   */
  checkIntervalMs: number;
  /**
   * One /metrics render is shared by every scrape that arrives while it runs and for this long after:
   * a thousand scrapers cost about one render per interval, not one each.
   */
  metricsReuseMs: number;
}

export const LISTENER_LIMITS: Readonly<ListenerLimits> = {
  maxConnections: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  metricsReuseMs: 100,
};

/** Renders the registry at most once per `reuseMs`, sharing the render in flight. */
function metricsRenderer(reuseMs: number): () => Promise<string> {
  // doneAt is 0 while the render runs: every scrape meanwhile waits for that same render.
  let last: { doneAt: number; text: Promise<string> } | undefined;
  return () => {
    if (last && (last.doneAt === 0 || Date.now() - last.doneAt < reuseMs)) return last.text;
    // Labels come from config names and code, but a reason or name could one day carry a peer's text:
    // scrubbed like every other output (once per render, not per scrape).
    const entry = { doneAt: 0, text: registry.metrics().then((text) => (hasSecrets() ? scrub(text) : text)) };
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
export async function startHttpServer(
  settings: HttpSettings, readiness: () => ReadinessReport, tap: TapHub, log: Logger, limits: Partial<ListenerLimits> = {},
): Promise<Server | undefined> {
  const lim = { ...LISTENER_LIMITS, ...limits };
  const address = settings.address;
  if (!address) return undefined;
  const parsed = parseListenAddress(address);
  if (typeof parsed === 'string') throw new Error(parsed);
  const { host, port } = parsed;
  const render = metricsRenderer(lim.metricsReuseMs);
  const server = createServer({
    headersTimeout: lim.headersTimeoutMs, requestTimeout: lim.requestTimeoutMs, keepAliveTimeout: lim.keepAliveTimeoutMs,
    connectionsCheckingInterval: lim.checkIntervalMs,
  }, (req, res) => {
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
  server.maxConnections = lim.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  log.info({ address: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : address }, 'http listener up');
  return server;
}
