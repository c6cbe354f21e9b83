import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../../telemetry/logger.js';
import { SampledWarn } from '../../telemetry/logger.js';
import type { SecretScope } from '../../telemetry/secrets.js';
import { HttpClient, type HttpReply } from '../../net/http.js';
import { cookiesFrom, cookieValues } from '../../net/cookies.js';
import { AuthError, RateLimited, retryAfterMs } from '../../net/errors.js';
import type { SmcConfig } from './config.js';

// The SMC's REST half: version discovery, login for the session both sockets present, and logout.
// One SmcLogin serves both sockets of a source; each socket holds the session it connected with and
// hands it back when the socket closes. A session is a JSESSIONID cookie, or, when the SMC tracks
// sessions by SSL session, the token of the login's Authorization header (smc-python's two modes).
// Each session's credential lives in its own secret scope, ended when that session is logged out.
// REST calls go through the shared HttpClient (TLS block, time limit, answer cap).

/** A refused login is an AuthError: both sockets wait on the slow auth schedule. */
export class LoginError extends AuthError {
  constructor(message: string, status: number) {
    super(message, status);
    this.name = 'LoginError';
  }
}

/** What the SMC's REST calls may take: its answers are small; a hung server is a failed try. */
const REST_TIMEOUT_MS = 30_000;
const LOGOUT_TIMEOUT_MS = 5_000;

/** One logged-in session: its credential, the API version it was made for, and who uses it. */
export interface SmcSession {
  readonly id: number;
  readonly version: string;
  /** `JSESSIONID=<value>` when the SMC set the cookie (cookie mode). */
  readonly cookie?: string;
  /** The login's Authorization header when there was no cookie (SSL-session mode). */
  readonly token?: string;
  /** Sockets connected (or connecting) with this session. */
  users: number;
  /** Replaced: log it out once its last socket has let go. */
  stale: boolean;
  /** Where its credential is kept for the log scrubber; ended at logout. */
  readonly secrets: SecretScope;
}

/** Every `rel` of `{"version":[{"rel":"7.1"},…]}` that looks like a version. */
export function listedVersions(body: unknown): string[] {
  const list = (body as { version?: unknown })?.version;
  if (!Array.isArray(list)) return [];
  return list.map((v) => (v as { rel?: unknown })?.rel).filter((r): r is string => typeof r === 'string' && /^\d+(\.\d+)*$/.test(r));
}

/** Highest `rel` of `{"version":[{"rel":"7.1"},…]}`, compared number by number (6.10 > 6.5). */
export function newestVersion(body: unknown): string | undefined {
  const rels = listedVersions(body);
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
  return cookiesFrom(headers['set-cookie'] ?? [], 'JSESSIONID');
}

/** What a WebSocket subprotocol may carry (RFC 6455: an HTTP token); ws refuses anything else. */
const SUBPROTOCOL_TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;

/** Headers that name session `s` on a REST call: its cookie, else its Authorization token. */
export function restAuth(s: SmcSession): Record<string, string> {
  return s.cookie ? { Cookie: s.cookie } : s.token ? { Authorization: s.token } : {};
}

/** How a socket presents session `s`: the cookie, else the subprotocol pair `access_token, <token>`. */
export function socketAuth(s: SmcSession): { headers: Record<string, string>; protocols?: string[] } {
  if (s.cookie) return { headers: { Cookie: s.cookie } };
  return { headers: {}, protocols: ['access_token', s.token ?? ''] };
}

export class SmcLogin {
  private readonly base: URL;
  /** The version the last GET /api led to (logged when it changes). */
  private version = '';
  /** A configured api_version the SMC does not list is warned about once. */
  private versionWarned = false;
  private current: SmcSession | undefined;
  private inflight: Promise<SmcSession> | undefined;
  private readonly live = new Set<SmcSession>();
  private nextId = 1;
  private readonly warn: SampledWarn;
  private readonly http: HttpClient;
  logins = 0;

  /** `secrets`: the source's scope; each session's credential goes in a child scope of it. */
  constructor(private readonly cfg: SmcConfig, private readonly log: Logger, private readonly secrets: SecretScope) {
    this.base = new URL(cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    this.warn = new SampledWarn(log);
    this.http = new HttpClient(cfg.tls);
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

  /** Logs out every session still held (after the sockets are closed), then lets the HTTP agents go. */
  async logoutAll(): Promise<void> {
    this.current = undefined;
    await Promise.all([...this.live].map((s) => this.logout(s)));
    this.http.close();
  }

  /**
   * The API version to use, asked of `GET /api` before every login: a configured `api_version` only if
   * the SMC lists it (paths under any other answer 404), else the newest listed, with one warning.
   */
  private async chooseVersion(signal: AbortSignal): Promise<string> {
    const res = await this.rest('GET', 'api', undefined, {}, signal);
    if (res.status === 429) throw new RateLimited('GET /api', retryAfterMs(res.headers['retry-after']));
    if (res.status !== 200) throw new Error(`GET /api answered ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new Error('GET /api did not answer JSON');
    }
    const newest = newestVersion(body);
    if (!newest) throw new Error('GET /api listed no API version');
    const wanted = this.cfg.api_version;
    let v = newest;
    if (wanted && listedVersions(body).includes(wanted)) v = wanted;
    else if (wanted && !this.versionWarned) {
      this.versionWarned = true;
      this.log.warn({ api_version: wanted, listed: listedVersions(body).slice(0, 20), using: newest }, 'the SMC does not list the configured api_version; using the newest it lists');
    }
    if (v !== this.version) this.log.info({ api_version: v }, wanted === v ? 'using the configured API version' : 'using the newest API version the SMC offers');
    return (this.version = v);
  }

  private async login(signal: AbortSignal): Promise<SmcSession> {
    const version = await this.chooseVersion(signal);
    const body = this.cfg.domain ? { authenticationkey: this.cfg.api_key, domain: this.cfg.domain } : { authenticationkey: this.cfg.api_key };
    this.logins++;
    const res = await this.rest('POST', `${version}/login`, body, {}, signal);
    if (res.status === 429) throw new RateLimited('the SMC login', retryAfterMs(res.headers['retry-after']));
    // Cookie mode when the SMC set JSESSIONID; otherwise it tracks sessions by SSL session and the
    // Authorization header is the session (newer SMCs send that header in cookie mode too: the cookie wins).
    const cookie = res.status === 200 ? sessionCookie(res.headers) : undefined;
    const header = res.headers.authorization;
    const token = res.status === 200 && !cookie && typeof header === 'string' && header.trim() ? header.trim() : undefined;
    if (!cookie && !token) {
      const why = res.status === 200 ? 'login answered 200 without a JSESSIONID cookie or an Authorization header' : `login refused with HTTP ${res.status}`;
      if (res.status === 200 || (res.status >= 400 && res.status < 500)) {
        // Counted by the session (an AuthError from connect), once per socket that could not log in.
        this.warn.warn('login', { status: res.status, domain: this.cfg.domain || undefined }, `${why}: check api_key and domain`);
        throw new LoginError(why, res.status);
      }
      throw new Error(why);
    }
    const secrets = this.secrets.session('login');
    for (const v of cookie ? cookieValues(cookie) : [token]) secrets.add(v);
    const s: SmcSession = { id: this.nextId++, version, ...(cookie ? { cookie } : { token }), users: 0, stale: false, secrets };
    this.live.add(s);
    if (token && !SUBPROTOCOL_TOKEN.test(token)) {
      // The socket could never carry it: a configuration matter, so waited out like a refusal, not hammered.
      void this.logout(s);
      throw new LoginError('the SMC tracks sessions by SSL session, and its Authorization token has characters a WebSocket subprotocol cannot carry', 200);
    }
    this.current = s;
    this.log.info({ session: s.id, api_version: version, mode: cookie ? 'cookie' : 'ssl_session' }, 'logged in to the SMC');
    return s;
  }

  private async logout(s: SmcSession): Promise<void> {
    this.live.delete(s);
    try {
      await this.sendLogout(s);
    } finally {
      s.secrets.end();
    }
  }

  private async sendLogout(s: SmcSession): Promise<void> {
    try {
      const res = await this.rest('PUT', `${s.version}/logout`, undefined, restAuth(s), undefined, LOGOUT_TIMEOUT_MS);
      // 401: the session had already expired, which is what logging out wanted anyway.
      if (res.status !== 204 && res.status !== 200 && res.status !== 401) this.log.warn({ session: s.id, status: res.status }, 'logout refused');
      else this.log.info({ session: s.id }, 'logged out of the SMC');
    } catch (err) {
      this.log.warn({ session: s.id, err: (err as Error).message }, 'logout failed');
    }
  }

  /** One REST call under the base URL; any HTTP answer is returned, a network failure or timeout throws. */
  private rest(method: string, path: string, json: unknown, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs = REST_TIMEOUT_MS): Promise<HttpReply> {
    const url = new URL(path, this.base).toString();
    return this.http.call({
      method, url, headers: { Accept: 'application/json', ...headers }, timeoutMs, what: `${method} ${new URL(url).pathname}`,
      ...(json !== undefined ? { json } : {}), ...(signal ? { signal } : {}),
    });
  }
}
