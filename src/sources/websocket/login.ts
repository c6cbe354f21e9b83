import { getPath, splitPath } from '../../mapping/path.js';
import type { CompiledWebSocket } from './config.js';
import type { HttpClient } from '../../net/http.js';
import { cookiesFrom } from '../../net/cookies.js';
import { AuthError, RateLimited, retryAfterMs } from '../../net/errors.js';

// The optional HTTP login before each connection: its response yields {token} (a JSON path) and/or
// {cookie} (Set-Cookie). A 401/403 is a LoginRefused (counted as an auth failure by the source).

export type Vars = Partial<Record<'token' | 'cookie' | 'username' | 'password', string>>;

const TEMPLATE_RE = /\{(token|cookie|username|password)\}/g;

/** Fills {token}, {cookie}, {username}, {password} in strings, deeply in maps and lists. */
export function fill(v: unknown, vars: Vars): unknown {
  if (typeof v === 'string') return v.includes('{') ? v.replace(TEMPLATE_RE, (whole, name: keyof Vars) => vars[name] ?? whole) : v;
  if (Array.isArray(v)) return v.map((x) => fill(x, vars));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, vars)]));
  return v;
}

/** A message as it goes on the socket: strings as they are, maps and lists as JSON. */
export function messageText(v: unknown, vars: Vars): string {
  const filled = fill(v, vars);
  return typeof filled === 'string' ? filled : JSON.stringify(filled);
}

/** A refused login is an AuthError: the session retries it on the slow auth schedule. */
export class LoginRefused extends AuthError {
  constructor(status: number) {
    super(`login refused with HTTP ${status}: check the credentials`, status);
    this.name = 'LoginRefused';
  }
}

export interface LoginResult {
  token?: string;
  cookie?: string;
}

export { cookiesFrom };

/** Logs in over the shared HTTP client (TLS block, time limit, 64 KiB answer cap); 401/403 → LoginRefused, 429 → RateLimited. */
export async function login(
  spec: NonNullable<CompiledWebSocket['login']>,
  vars: Vars,
  http: HttpClient,
  signal: AbortSignal,
): Promise<LoginResult> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k] = String(fill(v, vars));
  const filled = spec.body === undefined ? undefined : fill(spec.body, vars);
  const res = await http.call({
    method: spec.method, url: spec.url, headers, timeoutMs: spec.timeoutMs, signal, what: 'the login',
    ...(filled === undefined ? {} : typeof filled === 'string' ? { body: filled } : { json: filled }),
  });
  if (res.status === 401 || res.status === 403) throw new LoginRefused(res.status);
  if (res.status === 429) throw new RateLimited('the login', retryAfterMs(res.headers['retry-after']));
  if (res.status < 200 || res.status > 299) throw new Error(`login failed with HTTP ${res.status}`);
  if (res.truncated) throw new Error('login response larger than 64 KiB');
  const out: LoginResult = {};
  if (spec.token_path) {
    let doc: unknown;
    try {
      doc = JSON.parse(res.text);
    } catch {
      throw new Error('login response is not JSON: cannot read token_path');
    }
    const token = getPath(doc, splitPath(spec.token_path));
    if (typeof token !== 'string' && typeof token !== 'number') throw new Error(`login response has no token at ${spec.token_path}`);
    out.token = String(token);
  }
  if (spec.cookie) {
    const cookie = cookiesFrom(res.setCookie, spec.cookie);
    if (!cookie) throw new Error(`login response set no cookie ${spec.cookie === '*' ? '' : spec.cookie}`.trim());
    out.cookie = cookie;
  }
  return out;
}
