import type WebSocket from 'ws';
import type { SourceContext, SourceFactory } from '../source.js';
import type { Link, Meaning } from '../protocol.js';
import { SessionSource } from '../session_source.js';
import { selfMetrics } from '../../telemetry/metrics.js';
import { forgetSecret, registerSecret } from '../../telemetry/logger.js';
import { checkSysadm, sysadmSchema, type SysadmConfig } from './config.js';
import { CredentialRefused, SysadmProtocol } from './protocol.js';

export { STATIC_TOKEN_REFUSED } from './protocol.js';

/** The live connection: its link for the protocol, and onOpen's promise until the subscription is answered. */
interface Current {
  link: Link;
  abort: AbortController;
  settle: { resolve(): void; reject(err: Error): void } | undefined;
}

/**
 * The sysadm source on today's WsSession: SysadmProtocol says what each frame meant, this carries it
 * out (emit, reject, send, acknowledge, fail) until the one session does that for every vendor.
 */
export class SysadmSource extends SessionSource {
  private readonly protocol: SysadmProtocol;
  private current: Current | undefined;
  private readonly m;

  constructor(private readonly cfg: SysadmConfig, ctx: SourceContext) {
    super(cfg, ctx);
    this.protocol = new SysadmProtocol(cfg, { log: ctx.log, clock: this.clock, secrets: { add: registerSecret, forget: forgetSecret } });
    this.m = {
      auth: selfMetrics.authFailures.labels(cfg.name),
      active: selfMetrics.subscriptions.labels(cfg.name, 'active'),
      failed: selfMetrics.subscriptions.labels(cfg.name, 'failed'),
    };
  }

  prepare(signal: AbortSignal) {
    return this.protocol.connect(signal);
  }

  onOpen(ws: WebSocket): Promise<void> {
    const abort = new AbortController();
    const link: Link = {
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      deliver: (meaning) => this.act(meaning),
      signal: abort.signal,
    };
    const cur: Current = { link, abort, settle: undefined };
    this.current = cur;
    const settled = new Promise<void>((resolve, reject) => (cur.settle = { resolve, reject }));
    const opening = this.protocol.open(link);
    for (const f of opening.send ?? []) link.send(f);
    return settled;
  }

  onFrame(data: Buffer): void {
    if (!this.current) return;
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch {
      return this.session.reject('malformed_json', { bytes: data.length });
    }
    this.act(this.protocol.frame(value, { bytes: data.length, receivedMs: Date.now() }));
  }

  /** Carries out what a frame (or a timer's reply) meant. */
  private act(m: Meaning): void {
    const cur = this.current;
    if (!cur) return;
    for (const r of m.rejects ?? []) this.session.reject(r.reason, r.detail);
    for (const e of m.envelopes ?? []) this.session.emit(e);
    for (const f of m.send ?? []) cur.link.send(f);
    for (const a of m.acks ?? []) {
      if (a.ok) {
        this.m.active.set(this.cfg.events.length);
        this.session.setEstablished();
        cur.settle?.resolve();
        cur.settle = undefined;
      } else {
        this.m.failed.inc();
        this.session.warn.warn('subscribe', { detail: a.detail, events: this.cfg.events }, 'sysadm refused the event subscription');
        this.fail(cur, new Error(a.detail ?? 'events subscribe refused'));
      }
    }
    if (m.fail) {
      if (m.fail instanceof CredentialRefused) this.m.auth.inc();
      this.fail(cur, m.fail);
    }
    if (!m.envelopes?.length && !m.rejects?.length && !m.acks?.length && !m.send?.length && !m.control && !m.fail) this.session.reject('unmapped');
  }

  /** Ends this connection with `err` as its cause: it decides the schedule of the next try. */
  private fail(cur: Current, err: Error): void {
    if (cur.settle) {
      cur.settle.reject(err);
      cur.settle = undefined;
    } else {
      this.session.failConnection(err);
    }
  }

  onClosed(): Error | void {
    const cur = this.current;
    this.current = undefined;
    if (!cur) return;
    cur.abort.abort();
    cur.settle?.reject(new Error('socket closed before the subscription was confirmed'));
    cur.settle = undefined;
    this.m.active.set(0);
    return this.protocol.closed();
  }

  async onStop(ws: WebSocket | undefined): Promise<void> {
    const cur = this.current;
    if (cur) cur.abort.abort(); // timers stop before the goodbye
    await this.protocol.stop(ws && cur ? cur.link : undefined);
  }
}

export const sysadmSource: SourceFactory<SysadmConfig> = {
  type: 'sysadm',
  schema: sysadmSchema,
  check: checkSysadm,
  create: (config, ctx) => new SysadmSource(config, ctx),
};
