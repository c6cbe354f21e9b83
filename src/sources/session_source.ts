import type WebSocket from 'ws';
import type { CommonSourceConfig, Source, SourceContext, SourceStatus } from './source.js';
import { WsSession, realClock, type ConnectTarget, type SessionHooks, type SlowClock } from './ws_session.js';

/**
 * A source that is one kept-alive socket: the vendor's subclass supplies the hooks (login, subscribe,
 * decode) and WsSession runs the connection's life around them.
 */
export abstract class SessionSource implements Source, SessionHooks {
  readonly name: string;
  protected readonly session: WsSession;
  protected readonly clock: SlowClock;

  constructor(cfg: CommonSourceConfig, ctx: SourceContext) {
    this.name = cfg.name;
    this.clock = ctx.clock ?? realClock;
    this.session = new WsSession(cfg.name, cfg, this, ctx.emitter, ctx.log, this.clock);
  }

  start(): void {
    this.session.start();
  }

  stop(): Promise<void> {
    return this.session.stop();
  }

  status(): SourceStatus {
    return this.session.status();
  }

  abstract prepare(signal: AbortSignal): Promise<ConnectTarget>;
  abstract onOpen(ws: WebSocket): void | Promise<void>;
  abstract onFrame(data: Buffer, ws: WebSocket): void;
}
