import type WebSocket from 'ws';
import type { SourceContext, SourceFactory } from '../source.js';
import { SessionSource } from '../session_source.js';

import { selfMetrics } from '../../telemetry/metrics.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';
import { VERSION } from '../../version.js';
import { checkWebSocket, compileWebSocket, webSocketSchema, type CompiledWebSocket, type WebSocketConfig } from './config.js';
import { WebSocketMapping, holds, payloadOf } from './mapping.js';
import { LoginRefused, fill, login, messageText, type Vars } from './login.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';

/** Header names whose values are credentials: scrubbed from every log line. */
const SECRET_HEADER = /auth|cookie|token|key|secret|session|pass|pwd|credential/i;

/**
 * Any JSON-over-WebSocket notification API, described by configuration: an optional HTTP login
 * (token or cookie), headers and URL filled from it, messages sent after open, an application
 * heartbeat, and rules saying which frames are metrics and which are log records.
 */
export class WebSocketSource extends SessionSource {
  private readonly c: CompiledWebSocket;
  private readonly mapping: WebSocketMapping;
  private vars: Vars = {};
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: WebSocketConfig, ctx: SourceContext) {
    super(cfg, ctx);
    this.c = compileWebSocket(cfg);
    this.mapping = new WebSocketMapping(cfg.name, this.c, cfg.metrics, cfg.resource, VERSION, Date.now(), (path) =>
      this.session.warn.warn(`time:${path}`, { path }, 'configured time field missing or unreadable; using arrival time'), { ...DEFAULT_LIMITS, ...cfg.limits });
    for (const [k, v] of Object.entries(cfg.headers)) if (SECRET_HEADER.test(k)) registerSecret(v);
    for (const [k, v] of Object.entries(this.c.login?.headers ?? {})) if (SECRET_HEADER.test(k)) registerSecret(v);
  }

  /** Logs in (when configured) and fills the URL and headers with what the login yielded. */
  /** Credentials learnt from the current login, registered as secrets for as long as that session lasts. */
  private readonly learnt: string[] = [];

  private learn(secret: string): void {
    registerSecret(secret);
    this.learnt.push(secret);
  }

  async prepare(signal: AbortSignal) {
    const vars: Vars = {};
    if (this.cfg.token) vars.token = this.cfg.token;
    if (this.cfg.username) vars.username = this.cfg.username;
    if (this.cfg.password) vars.password = this.cfg.password;
    if (this.c.login) {
      // Each login starts a new session: the last one's token and cookies are no longer secrets to keep.
      for (const s of this.learnt.splice(0)) forgetSecret(s);
      try {
        const got = await login(this.c.login, vars, this.cfg.tls, signal);
        if (got.token !== undefined) {
          this.learn(got.token);
          vars.token = got.token;
        }
        if (got.cookie !== undefined) {
          for (const pair of got.cookie.split('; ')) this.learn(pair.slice(pair.indexOf('=') + 1));
          vars.cookie = got.cookie;
        }
      } catch (err) {
        if (err instanceof LoginRefused) selfMetrics.authFailures.labels(this.name).inc();
        throw err;
      }
    }
    this.vars = vars;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.cfg.headers)) headers[k] = String(fill(v, vars));
    if (vars.cookie && !Object.keys(headers).some((k) => k.toLowerCase() === 'cookie')) headers.Cookie = vars.cookie;
    return { url: String(fill(this.cfg.url, vars)), headers };
  }

  onOpen(ws: WebSocket): void {
    for (const m of this.cfg.messages) ws.send(messageText(m, this.vars));
    const hb = this.c.heartbeat;
    if (hb) {
      const text = messageText(hb.message, this.vars);
      this.heartbeat = setInterval(() => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      }, hb.intervalMs);
    }
    // Without a `frames.ready` rule, an open socket with its messages sent is as ready as it gets.
    if (!this.c.ready) this.session.setEstablished();
  }

  onClosed(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  onFrame(data: Buffer): void {
    const receivedMs = Date.now();
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    if (typeof frame !== 'object' || frame === null) return this.session.reject('not_an_object', { bytes: data.length });
    const c = this.c;
    if (c.ready && holds(c.ready, frame)) return this.session.setEstablished();
    if (c.ignore && holds(c.ignore, frame)) return;
    const isMetrics = c.metrics !== undefined && holds(c.metrics.when, frame);
    const isLogs = c.logs !== undefined && holds(c.logs.when, frame);
    if (!isMetrics && !isLogs) return this.session.reject('unmatched', { bytes: data.length });

    const decoded = payloadOf(frame, c);
    if ('reject' in decoded) return this.session.reject(decoded.reject, { bytes: data.length });
    // A list payload is a batch: each element is one payload.
    const items = Array.isArray(decoded.payload) ? decoded.payload : [decoded.payload];
    let points = 0;
    // One past the envelope cap is enough for the session to count the frame as cut.
    const most = { ...DEFAULT_LIMITS, ...this.cfg.limits }.envelopes_per_frame + 1;
    for (let i = 0; i < items.length && i < most; i++) {
      const item: unknown = items[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        this.session.reject('bad_payload', { bytes: data.length });
        continue;
      }
      if (isMetrics) {
        const env = this.mapping.metrics(frame, item, receivedMs);
        points += env.metrics.length;
        if (env.metrics.length) this.session.emit(env);
      }
      if (isLogs) this.session.emit(this.mapping.log(frame, item, receivedMs));
    }
    if (isMetrics && !isLogs && points === 0 && items.length > 0) this.session.reject('unmapped', { bytes: data.length });
  }
}

export const webSocketSource: SourceFactory<WebSocketConfig> = {
  type: 'websocket',
  schema: webSocketSchema,
  check: checkWebSocket,
  create: (config, ctx) => new WebSocketSource(config, ctx),
};
