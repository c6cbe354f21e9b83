import type { Attributes, Envelope } from '../../model.js';
import { SampledWarn } from '../../telemetry/logger.js';
import type { SecretScope } from '../../telemetry/secrets.js';
import { HttpClient } from '../../net/http.js';
import { cookieValues } from '../../net/cookies.js';
import { VERSION } from '../../version.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';
import type { ConnectTarget, FrameInfo, Link, Meaning, Opening, Protocol, Rejection } from '../protocol.js';
import type { SourceContext } from '../source.js';
import { sourceContext } from '../protocol_source.js';
import { compileWebSocket, type CompiledWebSocket, type WebSocketConfig } from './config.js';
import { WebSocketMapping, holds, payloadOf } from './mapping.js';
import { fill, login, messageText, type Vars } from './login.js';

/** Header names whose values are credentials: scrubbed from every log line. */
const SECRET_HEADER = /auth|cookie|token|key|secret|session|pass|pwd|credential/i;

/** The one subscription a `frames.ready` rule stands for: the server's "you are subscribed" frame. */
export const READY = 'frames.ready';

/**
 * The generic websocket source's protocol (the reference conversion: frame in → Meaning out). Its only
 * I/O is the optional HTTP login in `connect` and the configured messages and heartbeat on `open`.
 */
export class WebSocketProtocol implements Protocol {
  private readonly c: CompiledWebSocket;
  private readonly mapping: WebSocketMapping;
  private readonly secrets: SecretScope;
  /** This login's learnt token and cookies: ended (forgotten) at the next login and at stop. */
  private login: SecretScope | undefined;
  private readonly http: HttpClient;
  private vars: Vars = {};
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly most: number;

  constructor(private readonly cfg: WebSocketConfig, context: SourceContext) {
    const ctx = sourceContext(cfg, context);
    this.c = compileWebSocket(cfg);
    this.secrets = ctx.secrets;
    this.http = new HttpClient(cfg.tls);
    const warn = new SampledWarn(ctx.log);
    const limits = { ...DEFAULT_LIMITS, ...cfg.limits };
    this.mapping = new WebSocketMapping(cfg.name, this.c, cfg.metrics, cfg.resource, VERSION, Date.now(), (path) =>
      warn.warn(`time:${path}`, { path }, 'configured time field missing or unreadable; using arrival time'), limits);
    // One past the envelope cap is enough for the session to count the frame as cut.
    this.most = limits.envelopes_per_frame + 1;
    for (const [k, v] of Object.entries(cfg.headers)) if (SECRET_HEADER.test(k)) this.secrets.add(v);
    for (const [k, v] of Object.entries(this.c.login?.headers ?? {})) if (SECRET_HEADER.test(k)) this.secrets.add(v);
  }

  /** Logs in (when configured) and fills the URL and headers with what the login yielded. */
  async connect(signal: AbortSignal): Promise<ConnectTarget> {
    const vars: Vars = {};
    if (this.cfg.token) vars.token = this.cfg.token;
    if (this.cfg.username) vars.username = this.cfg.username;
    if (this.cfg.password) vars.password = this.cfg.password;
    if (this.c.login) {
      // Each login starts a new session: the last one's token and cookies are no longer secrets to keep.
      this.login?.end();
      const scope = (this.login = this.secrets.session('login'));
      const got = await login(this.c.login, vars, this.http, signal);
      if (got.token !== undefined) {
        scope.add(got.token);
        vars.token = got.token;
      }
      if (got.cookie !== undefined) {
        for (const v of cookieValues(got.cookie)) scope.add(v);
        vars.cookie = got.cookie;
      }
    }
    this.vars = vars;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.cfg.headers)) headers[k] = String(fill(v, vars));
    if (vars.cookie && !Object.keys(headers).some((k) => k.toLowerCase() === 'cookie')) headers.Cookie = vars.cookie;
    return { url: String(fill(this.cfg.url, vars)), headers };
  }

  open(link: Link): Opening {
    const hb = this.c.heartbeat;
    if (hb) {
      const text = messageText(hb.message, this.vars);
      const timer = setInterval(() => link.send(text), hb.intervalMs);
      this.heartbeat = timer;
      link.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    }
    // Without a `frames.ready` rule, an open socket with its messages sent is as ready as it gets.
    return { send: this.messages(), expect: this.c.ready ? [READY] : [] };
  }

  /** No ready frame in time (or a refusal): send the configured messages again. */
  resubscribe(): Meaning {
    return { send: this.messages() };
  }

  private messages(): string[] {
    return this.cfg.messages.map((m) => messageText(m, this.vars));
  }

  frame(frame: unknown, info: FrameInfo): Meaning {
    const bytes = info.bytes;
    if (typeof frame !== 'object' || frame === null) return rejected('not_an_object', bytes);
    const c = this.c;
    if (c.ready && holds(c.ready, frame)) return { acks: [{ name: READY, ok: true }] };
    if (c.ignore && holds(c.ignore, frame)) return { control: true };
    const isMetrics = c.metrics !== undefined && holds(c.metrics.when, frame);
    const isLogs = c.logs !== undefined && holds(c.logs.when, frame);
    if (!isMetrics && !isLogs) return rejected('unmatched', bytes);

    const decoded = payloadOf(frame, c);
    if ('reject' in decoded) return rejected(decoded.reject, bytes);
    // A list payload is a batch: each element is one payload.
    const items = Array.isArray(decoded.payload) ? decoded.payload : [decoded.payload];
    const envelopes: Envelope[] = [];
    const rejects: Rejection[] = [];
    let points = 0;
    for (let i = 0; i < items.length && i < this.most; i++) {
      const item: unknown = items[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        rejects.push({ reason: 'bad_payload' });
        continue;
      }
      if (isMetrics) {
        const env = this.mapping.metrics(frame, item, info.receivedMs);
        points += env.metrics.length;
        if (env.metrics.length) envelopes.push(env);
      }
      if (isLogs) envelopes.push(this.mapping.log(frame, item, info.receivedMs));
    }
    // Metrics frames whose rules found no number: the one `unmapped`, even beside bad payloads.
    if (isMetrics && !isLogs && points === 0 && items.length > 0) rejects.push({ reason: 'unmapped' });
    return { envelopes, rejects };
  }

  closed(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async stop(): Promise<void> {
    this.closed();
    this.login?.end();
    this.login = undefined;
    this.http.close();
  }

  resource(): Attributes {
    let host = '';
    try {
      host = new URL(this.cfg.url).hostname;
    } catch {
      // A URL that is only whole once {token} is filled in: the configured resource alone.
    }
    return { ...(host ? { 'server.address': host } : {}), ...this.cfg.resource };
  }
}

function rejected(reason: string, bytes: number): Meaning {
  return { rejects: [{ reason, detail: { bytes } }] };
}
