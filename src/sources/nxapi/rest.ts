import { AuthError, RateLimited, retryAfterMs } from '../../net/errors.js';
import type { HttpClient, HttpReply } from '../../net/http.js';

// The NX-API REST calls the source needs: aaaLogin, aaaRefresh, aaaLogout, a query with
// subscription=yes and subscriptionRefresh, each through the one HTTP helper (src/net/http.ts), whose
// agents carry the source's `tls` settings (CA bundle, skip verification) for REST as for the socket.

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
  /** The one HTTP helper, shared by every controller of the source. */
  http: HttpClient;
  /** Most bytes of one reply (a snapshot is data): the source's max_frame_bytes. */
  maxReplyBytes: number;
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

  constructor(private readonly opts: RestOptions) {
    this.base = new URL(opts.baseUrl);
  }

  /** The controller's origin (`scheme://host:port`): what /readyz and logs may show of it. */
  get origin(): string {
    return this.base.origin;
  }

  /** `ws[s]://host/socket<token>`: the token is appended to the path as is. Never log this URL. */
  socketUrl(token: string): string {
    const u = new URL(this.base.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${u.origin}/socket${token}`;
  }

  async login(name: string, pwd: string, signal?: AbortSignal): Promise<LoginResult> {
    const r = await this.call('POST', '/api/aaaLogin.json', '', signal, { aaaUser: { attributes: { name, pwd } } });
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
      ? await this.call('POST', '/api/aaaRefresh.json', token, signal)
      : await this.call('GET', '/api/aaaRefresh.json', token, signal);
    this.check(r, 'aaaRefresh');
    return loginAttributes(r.body, 'aaaRefresh', r.status);
  }

  async logout(name: string, token: string, signal?: AbortSignal): Promise<void> {
    const r = await this.call('POST', '/api/aaaLogout.json', token, signal, { aaaUser: { attributes: { name } } });
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

  private async call(method: string, path: string, token: string, signal: AbortSignal | undefined, json?: unknown): Promise<Reply> {
    const what = `${method} ${path.split('?')[0]}`;
    const r: HttpReply = await this.opts.http.call({
      method,
      // Paths are sent as written: NX-API dns carry brackets and slashes (sys/intf/phys-[eth1/1]).
      url: `${this.base.origin}${path}`,
      headers: { Accept: 'application/json', ...(token ? { Cookie: `APIC-cookie=${token}` } : {}) },
      ...(json !== undefined ? { json } : {}),
      timeoutMs: this.opts.timeoutMs,
      ...(signal ? { signal } : {}),
      what,
      maxAnswerBytes: this.opts.maxReplyBytes,
    });
    // Too many requests: every call waits for the server's word, whatever it was.
    if (r.status === 429) throw new RateLimited(what, retryAfterMs(r.headers['retry-after']));
    if (r.truncated) throw new Error(`${what}: reply larger than max_frame_bytes (${this.opts.maxReplyBytes} bytes)`);
    let body: unknown;
    try {
      body = r.text ? JSON.parse(r.text) : {};
    } catch {
      // An HTML error page from nginx: keep the status, the body tells nothing.
      if (r.status < 400) throw new Error(`${what}: reply is not JSON`);
      body = {};
    }
    return { status: r.status, body };
  }
}
