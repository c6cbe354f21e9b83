import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { getPath } from './mapping.js';
import { splitPath, type CompiledWebSocket } from './config.js';
import { tlsClientOptions, type TlsSettings } from '../../net/tls.js';
import { AuthError, RateLimited, retryAfterMs } from '../ws_session.js';

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

const MAX_RESPONSE = 1024 * 1024;

/** `name=value` pairs of the Set-Cookie headers kept by `want` (a cookie name, or '*' for all). */
export function cookiesFrom(setCookie: readonly string[], want: string): string | undefined {
  const pairs = setCookie
    .map((c) => c.split(';', 1)[0]!.trim())
    .filter((p) => p.includes('=') && (want === '*' || p.slice(0, p.indexOf('=')) === want));
  return pairs.length ? pairs.join('; ') : undefined;
}

export async function login(
  spec: NonNullable<CompiledWebSocket['login']>,
  vars: Vars,
  tls: TlsSettings,
  signal: AbortSignal,
): Promise<LoginResult> {
  const url = new URL(spec.url);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k] = String(fill(v, vars));
  let body: string | undefined;
  if (spec.body !== undefined) {
    const filled = fill(spec.body, vars);
    body = typeof filled === 'string' ? filled : JSON.stringify(filled);
    const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    if (!hasType) headers['Content-Type'] = typeof filled === 'string' ? 'text/plain' : 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  const opts: RequestOptions = { method: spec.method, headers, signal, timeout: spec.timeoutMs };
  if (url.protocol === 'https:') {
    Object.assign(opts, tlsClientOptions(tls));
  }

  const res = await new Promise<{ status: number; setCookie: string[]; text: string; retryAfter: string | undefined }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (r: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      r.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) return r.destroy(new Error('login response larger than 1 MiB'));
        chunks.push(c);
      });
      r.on('end', () => resolve({
        status: r.statusCode ?? 0, setCookie: r.headers['set-cookie'] ?? [], text: Buffer.concat(chunks).toString('utf8'), retryAfter: r.headers['retry-after'],
      }));
      r.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`login timed out after ${spec.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });

  if (res.status === 401 || res.status === 403) throw new LoginRefused(res.status);
  if (res.status === 429) throw new RateLimited('the login', retryAfterMs(res.retryAfter));
  if (res.status < 200 || res.status > 299) throw new Error(`login failed with HTTP ${res.status}`);
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
