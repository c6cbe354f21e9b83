import { pino, type Logger, type Level } from 'pino';

import { globalSecrets, retired, secretRoot, type SecretScope } from './secrets.js';

export type { Logger };

// Secret values live in scopes (telemetry/secrets.ts): each component's, each login's. Redaction by
// key path (pino's `redact`) catches structured fields; scrubbing the serialized line against the union
// of live scopes catches a secret that slipped into a message, an error text or a URL (NX-API puts its
// token in the socket path).

/** Adds a value to `scope` (default: the global one). */
export function registerSecret(value: string | undefined, scope: SecretScope = globalSecrets): void {
  scope.add(value);
}

/**
 * Forgets a credential learnt at run time (a session token, a cookie) once its session is over, so
 * the set lives as long as the sessions do instead of growing with every login. Prefer a session scope
 * (`scope.session()` … `end()`).
 */
export function forgetSecret(value: string | undefined, scope: SecretScope = globalSecrets): void {
  scope.delete(value);
}

/** Some secret is registered: callers skip the scrub (a scan per secret) when none is. */
export function hasSecrets(): boolean {
  return secretRoot.size > 0 || retired().size > 0;
}

/**
 * A peer's answer (an error body) for an error text: cut to `max` characters, control characters
 * folded to spaces, and scrubbed, since a server may echo the request's own headers back.
 */
export function peerText(text: string, max = 200): string {
  // Scrub before cutting: a cut through a secret would leave a prefix that no longer matches it.
  const clean = scrub(text.slice(0, 64 * 1024)).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function scrub(line: string): string {
  for (const s of secretRoot) {
    if (line.includes(s)) line = line.split(s).join('[REDACTED]');
  }
  for (const s of retired()) {
    if (line.includes(s)) line = line.split(s).join('[REDACTED]');
  }
  return line;
}

const REDACT_PATHS = [
  'token', 'password', 'api_key', 'authenticationkey', 'authorization', 'cookie',
  '*.token', '*.password', '*.api_key', '*.authenticationkey', '*.authorization', '*.Authorization', '*.cookie', '*.Cookie',
  'headers.*', '*.headers.*',
];

let root: Logger | undefined;

/** The daemon's root logger: JSON lines on stdout (or stderr when a sink owns stdout). */
export function createLogger(level: Level | 'silent', toStderr = false): Logger {
  const out = toStderr ? process.stderr : process.stdout;
  root = pino(
    {
      level,
      base: { service: 'ws2otel' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => out.write(hasSecrets() ? scrub(line) : line) },
  );
  return root;
}

export function logger(): Logger {
  return root ?? createLogger((process.env.WS2OTEL_LOG_LEVEL as Level | undefined) ?? 'info');
}

/**
 * Rate-limited warnings: bad input arrives in floods, and one line per bad frame would drown the log
 * and cost more than the frame. At most one line per key per interval, saying how many were suppressed.
 */
const MAX_KEYS = 1000;

export class SampledWarn {
  private last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly intervalMs = 10_000) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    this.log.warn({ ...fields, suppressed: entry?.suppressed ?? 0 }, msg);
    // Keys should be few (a reason, a configured channel); if a caller ever builds them from frames, stay bounded.
    if (!entry && this.last.size >= MAX_KEYS) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
