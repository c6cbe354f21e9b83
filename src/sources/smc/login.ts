import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../../telemetry/logger.js';
import { SampledWarn } from '../../telemetry/logger.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import type { SmcConfig } from './config.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';
import { tlsClientOptions } from '../../net/tls.js';
import type { ConnectionOptions } from 'node:tls';
import { AuthError, RateLimited, retryAfterMs } from '../ws_session.js';

// The SMC's REST half: version discovery, login for the JSESSIONID cookie both sockets present, and
// logout. One SmcLogin serves both sockets of a source; each socket holds the session it connected
// with and hands it back when the socket closes.

/** A refused login is an AuthError: both sockets wait on the slow auth schedule. */
export class LoginError extends AuthError {
  constructor(message: string, status: number) {
    super(message, status);
    this.name = 'LoginError';
  }
}

export interface RestReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One logged-in session: the cookie, the API version it was made for, and who uses it. */
export interface SmcSession {
  readonly id: number;
  readonly version: string;
  readonly cookie: string;
  /** Sockets connected (or connecting) with this session. */
  users: number;
  /** Replaced: log it out once its last socket has let go. */
  stale: boolean;
}

/** Highest `rel` of `{"version":[{"rel":"7.1"},…]}`, compared number by number (6.10 > 6.5). */
export function newestVersion(body: unknown): string | undefined {
  const list = (body as { version?: unknown })?.version;
  if (!Array.isArray(list)) return undefined;
  const rels = list.map((v) => (v as { rel?: unknown })?.rel).filter((r): r is string => typeof r === 'string' && /^\d+(\.\d+)*$/.test(r));
  const cmp = (a: string, b: string) => {
    const x = a.split('.').map(Number);
    const y = b.split('.').map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  };
  return rels.sort(cmp).pop();
}

/** `JSESSIONID=<value>` from the Set-Cookie headers, or undefined. */
export function sessionCookie(headers: IncomingHttpHeaders): string | undefined {
  for (const c of headers['set-cookie'] ?? []) {
    const m = /^\s*JSESSIONID=([^;]+)/i.exec(c);
    if (m) return `JSESSIONID=${m[1]}`;
  }
  return undefined;
}

export class SmcLogin {
  private readonly base: URL;
  private version: string;
  private current: SmcSession | undefined;
  private inflight: Promise<SmcSession> | undefined;
  private readonly live = new Set<SmcSession>();
  private nextId = 1;
  private readonly warn: SampledWarn;
  private readonly authFailures;
  private readonly tls: ConnectionOptions;
  logins = 0;

  constructor(private readonly cfg: SmcConfig, private readonly log: Logger) {
    this.base = new URL(cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    this.version = cfg.api_version;
    this.warn = new SampledWarn(log);
    this.authFailures = selfMetrics.authFailures.labels(cfg.name);
    this.tls = tlsClientOptions(cfg.tls);
  }

  /** ws:// or wss:// URL of a socket path template (`/{version}/status/socket`). */
  socketUrl(pathTemplate: string, version: string): string {
    const u = new URL(pathTemplate.replaceAll('{version}', version).replace(/^\//, ''), this.base);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }

  /** The current session, logging in first when there is none (one login for both sockets). */
  async acquire(signal: AbortSignal): Promise<SmcSession> {
    if (!this.current) {
      this.inflight ??= this.login(signal).finally(() => (this.inflight = undefined));
      await this.inflight;
    }
    const s = this.current;
    if (!s) throw new Error('login did not produce a session'); // replaced meanwhile; the retry logs in again
    s.users++;
    return s;
  }

  /**
   * A socket that used `s` closed. Unless we closed it, the session is suspect (expiry closes the
   * sockets, a refused upgrade means the cookie is no longer good): the next connect logs in anew,
   * and the old session is logged out once no socket uses it.
   */
  release(s: SmcSession, suspect: boolean): void {
    s.users = Math.max(0, s.users - 1);
    if (suspect && this.current === s) {
      s.stale = true;
      this.current = undefined;
    }
    if (s.stale && s.users === 0 && this.live.has(s)) void this.logout(s);
  }

  /** Logs out every session still held (after the sockets are closed). */
  async logoutAll(): Promise<void> {
    this.current = undefined;
    await Promise.all([...this.live].map((s) => this.logout(s)));
  }

  private async discoverVersion(signal: AbortSignal): Promise<string> {
    if (this.version) return this.version;
    const res = await this.rest('GET', 'api', undefined, {}, signal);
    if (res.status === 429) throw new RateLimited('GET /api', retryAfterMs(res.headers['retry-after']));
    if (res.status !== 200) throw new Error(`GET /api answered ${res.status}; set api_version to skip discovery`);
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      throw new Error('GET /api did not answer JSON');
    }
    const v = newestVersion(body);
    if (!v) throw new Error('GET /api listed no API version');
    this.log.info({ api_version: v }, 'using the newest API version the SMC offers');
    return (this.version = v);
  }

  private async login(signal: AbortSignal): Promise<SmcSession> {
    const version = await this.discoverVersion(signal);
    const body = JSON.stringify(this.cfg.domain ? { authenticationkey: this.cfg.api_key, domain: this.cfg.domain } : { authenticationkey: this.cfg.api_key });
    this.logins++;
    const res = await this.rest('POST', `${version}/login`, body, { 'Content-Type': 'application/json' }, signal);
    const cookie = res.status === 200 ? sessionCookie(res.headers) : undefined;
    if (res.status === 429) throw new RateLimited('the SMC login', retryAfterMs(res.headers['retry-after']));
    if (!cookie) {
      const why = res.status === 200 ? 'login answered 200 without a JSESSIONID cookie' : `login refused with HTTP ${res.status}`;
      if (res.status === 200 || (res.status >= 400 && res.status < 500)) {
        this.authFailures.inc();
        this.warn.warn('login', { status: res.status, domain: this.cfg.domain || undefined }, `${why}: check api_key and domain`);
        throw new LoginError(why, res.status);
      }
      throw new Error(why);
    }
    registerSecret(cookie.slice(cookie.indexOf('=') + 1));
    const s: SmcSession = { id: this.nextId++, version, cookie, users: 0, stale: false };
    this.live.add(s);
    this.current = s;
    this.log.info({ session: s.id, api_version: version }, 'logged in to the SMC');
    return s;
  }

  private async logout(s: SmcSession): Promise<void> {
    this.live.delete(s);
    try {
      await this.sendLogout(s);
    } finally {
      forgetSecret(s.cookie.slice(s.cookie.indexOf('=') + 1));
    }
  }

  private async sendLogout(s: SmcSession): Promise<void> {
    try {
      const res = await this.rest('PUT', `${s.version}/logout`, undefined, { Cookie: s.cookie }, AbortSignal.timeout(5000));
      // 401: the session had already expired, which is what logging out wanted anyway.
      if (res.status !== 204 && res.status !== 200 && res.status !== 401) this.log.warn({ session: s.id, status: res.status }, 'logout refused');
      else this.log.info({ session: s.id }, 'logged out of the SMC');
    } catch (err) {
      this.log.warn({ session: s.id, err: (err as Error).message }, 'logout failed');
    }
  }

  private rest(method: string, path: string, body: string | undefined, headers: Record<string, string>, signal: AbortSignal): Promise<RestReply> {
    const url = new URL(path, this.base);
    const tls = url.protocol === 'https:';
    const req = (tls ? httpsRequest : httpRequest)(url, {
      method,
      headers: { Accept: 'application/json', ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) },
      signal,
      timeout: 30_000,
      ...(tls ? this.tls : {}),
    });
    return new Promise<RestReply>((resolve, reject) => {
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(body);
    });
  }
}
