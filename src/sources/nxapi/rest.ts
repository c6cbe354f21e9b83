import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AuthError, RateLimited, retryAfterMs } from '../ws_session.js';
import { tlsClientOptions, type TlsSettings } from '../../net/tls.js';
import type { ConnectionOptions } from 'node:tls';

// The NX-API REST calls the source needs: aaaLogin, aaaRefresh, aaaLogout, a query with
// subscription=yes and subscriptionRefresh. node:http(s) rather than fetch, so that the source's
// `tls` settings (CA bundle, skip verification) apply to REST exactly as to the socket.

/** A REST call answered with an error: HTTP status ≥ 400 or `{"imdata":[{"error":{...}}]}`. */
export class NxapiError extends Error {
  constructor(readonly status: number, readonly code: string, readonly text: string, what: string) {
    super(`${what}: HTTP ${status}, error ${code || '-'}: ${text || 'no text'}`);
    this.name = 'NxapiError';
  }

  /** The token is gone (expired, refreshed away, logged out): only a new login helps. */
  get tokenInvalid(): boolean {
    return this.status === 401 || this.status === 403 || this.code === '401' || this.code === '403';
  }

  /** A query refused for the size of its result: it must be asked for in pages. */
  get tooBig(): boolean {
    return (this.status === 400 || this.code === '400') && /dataset is too big/i.test(this.text);
  }
}

export interface LoginResult {
  token: string;
  /** refreshTimeoutSeconds: the token dies this long after login or its last aaaRefresh. */
  refreshTimeoutS: number;
}

export interface SubscribeResult {
  id: string;
  imdata: unknown[];
  /** totalCount: every object the query matches, over all pages. */
  total: number;
}

export interface SubscribeOptions {
  /** Sent as `refresh-timeout=<s>`; 0: none sent. */
  refreshTimeoutS: number;
  /** One page of the query's result (`page` counts from 0). */
  page?: { page: number; size: number };
}

export interface RestOptions {
  baseUrl: string;
  timeoutMs: number;
  tls?: TlsSettings;
}

interface Reply {
  status: number;
  body: unknown;
}

/** `imdata[0].error.attributes` of an NX-API reply, if it is an error reply. */
export function errorOf(body: unknown): { code: string; text: string } | undefined {
  const imdata = (body as { imdata?: unknown } | null)?.imdata;
  if (!Array.isArray(imdata) || imdata.length === 0) return undefined;
  const attrs = (imdata[0] as { error?: { attributes?: { code?: unknown; text?: unknown } } } | null)?.error?.attributes;
  if (!attrs) return undefined;
  return { code: String(attrs.code ?? ''), text: String(attrs.text ?? '') };
}

function loginAttributes(body: unknown, what: string, status: number): LoginResult {
  const imdata = (body as { imdata?: unknown } | null)?.imdata;
  const first = Array.isArray(imdata) ? (imdata[0] as Record<string, { attributes?: Record<string, unknown> }> | undefined) : undefined;
  const attrs = first?.aaaLogin?.attributes;
  const token = attrs?.token;
  if (typeof token !== 'string' || token === '') throw new NxapiError(status, '', 'reply carries no aaaLogin token', what);
  const t = Number(attrs?.refreshTimeoutSeconds);
  return { token, refreshTimeoutS: Number.isFinite(t) && t > 0 ? t : 600 };
}

export class NxapiClient {
  private readonly base: URL;
  private readonly tls: ConnectionOptions;

  constructor(private readonly opts: RestOptions) {
    this.base = new URL(opts.baseUrl);
    this.tls = opts.tls ? tlsClientOptions(opts.tls) : {};
  }

  /** `ws[s]://host/socket<token>`: the token is appended to the path as is. Never log this URL. */
  socketUrl(token: string): string {
    const u = new URL(this.base.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${u.origin}/socket${token}`;
  }

  async login(name: string, pwd: string, signal?: AbortSignal): Promise<LoginResult> {
    const r = await this.call('POST', '/api/aaaLogin.json', '', signal, JSON.stringify({ aaaUser: { attributes: { name, pwd } } }));
    const err = errorOf(r.body);
    if (r.status === 401 || r.status === 403 || err?.code === '401' || err?.code === '403') {
      throw new AuthError(`aaaLogin refused (HTTP ${r.status}${err ? `, ${err.code}: ${err.text}` : ''}): check username and password`, r.status);
    }
    if (r.status >= 400 || err) throw new NxapiError(r.status, err?.code ?? '', err?.text ?? '', 'aaaLogin');
    return loginAttributes(r.body, 'aaaLogin', r.status);
  }

  /** aaaRefresh: NX-OS lists it as a DN target of a POST, APIC clients use GET; each refuses the other. */
  async refreshToken(token: string, platform: 'nxos' | 'apic', signal?: AbortSignal): Promise<LoginResult> {
    const r = platform === 'nxos'
      ? await this.call('POST', '/api/aaaRefresh.json', token, signal, '')
      : await this.call('GET', '/api/aaaRefresh.json', token, signal);
    this.check(r, 'aaaRefresh');
    return loginAttributes(r.body, 'aaaRefresh', r.status);
  }

  async logout(name: string, token: string, signal?: AbortSignal): Promise<void> {
    const r = await this.call('POST', '/api/aaaLogout.json', token, signal, JSON.stringify({ aaaUser: { attributes: { name } } }));
    this.check(r, 'aaaLogout');
  }

  /** GET `<query>?subscription=yes[&refresh-timeout=<s>][&page=&page-size=]`: the subscription id and the query's current objects. */
  async subscribe(query: string, token: string, opts: SubscribeOptions, signal?: AbortSignal): Promise<SubscribeResult> {
    let path = `${query}${query.includes('?') ? '&' : '?'}subscription=yes`;
    if (opts.refreshTimeoutS > 0) path += `&refresh-timeout=${opts.refreshTimeoutS}`;
    if (opts.page) path += `&page=${opts.page.page}&page-size=${opts.page.size}`;
    const r = await this.call('GET', path, token, signal);
    this.check(r, `subscribe ${query}`);
    const body = r.body as { subscriptionId?: unknown; imdata?: unknown; totalCount?: unknown };
    if (typeof body.subscriptionId !== 'string' || body.subscriptionId === '') {
      throw new NxapiError(r.status, '', 'reply carries no subscriptionId', `subscribe ${query}`);
    }
    const imdata = Array.isArray(body.imdata) ? body.imdata : [];
    const total = Number(body.totalCount);
    return { id: body.subscriptionId, imdata, total: Number.isInteger(total) && total >= 0 ? total : imdata.length };
  }

  async refreshSubscription(id: string, token: string, signal?: AbortSignal): Promise<void> {
    const r = await this.call('GET', `/api/subscriptionRefresh.json?id=${encodeURIComponent(id)}`, token, signal);
    this.check(r, `subscriptionRefresh ${id}`);
  }

  private check(r: Reply, what: string): void {
    const err = errorOf(r.body);
    if (r.status >= 400 || err) throw new NxapiError(r.status, err?.code ?? '', err?.text ?? '', what);
  }

  private call(method: string, path: string, token: string, signal: AbortSignal | undefined, body?: string): Promise<Reply> {
    const url = new URL(this.base.href);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Cookie = `APIC-cookie=${token}`;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)({
      protocol: url.protocol, hostname: url.hostname, port: url.port || (https ? 443 : 80),
      // Paths are sent as written: NX-API dns carry brackets and slashes (sys/intf/phys-[eth1/1]).
      path, method, headers, timeout: this.opts.timeoutMs,
      ...(https ? this.tls : {}),
      ...(signal ? { signal } : {}),
    });
    return new Promise<Reply>((resolve, reject) => {
      req.on('timeout', () => req.destroy(new Error(`${method} ${path.split('?')[0]}: no reply within ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode === 429) {
          // Too many requests: every call waits for the server's word, whatever it was.
          res.resume();
          return reject(new RateLimited(`${method} ${path.split('?')[0]}`, retryAfterMs(res.headers['retry-after'])));
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            // An HTML error page from nginx: keep the status, the body tells nothing.
            parsed = {};
            if ((res.statusCode ?? 0) < 400) return reject(new Error(`${method} ${path.split('?')[0]}: reply is not JSON`));
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.end(body);
    });
  }
}
