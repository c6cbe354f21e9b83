import type { Attributes } from '../../model.js';
import type { SourceContext, SourceFactory } from '../source.js';
import { ProtocolSource, sourceContext } from '../protocol_source.js';
import { SampledWarn } from '../../telemetry/logger.js';
import { VERSION } from '../../version.js';
import { DEFAULT_LIMITS } from '../../mapping/values.js';
import { SmcMapping } from './mapping.js';
import { SmcLogin } from './login.js';
import { SmcProtocol, type Command, type SmcSocketKind } from './protocol.js';
import { checkSmc, smcSchema, type SmcConfig } from './config.js';

/**
 * Forcepoint SMC: one REST login (JSESSIONID cookie, or an Authorization token when the SMC tracks
 * sessions by SSL session) shared by two sockets, each a Session around an SmcProtocol (./protocol.ts).
 * The notification socket carries `{"context": …}` channels of element change events, the status
 * socket `{"element": href}` subscriptions of element status and `{"context": type}` ones for whole
 * element families. Each reply names a `subscription_id`, counted from 0 per connection.
 */
export class SmcSource extends ProtocolSource {
  readonly login: SmcLogin;

  constructor(cfg: SmcConfig, context: SourceContext) {
    const ctx = sourceContext(cfg, context);
    const login = new SmcLogin(cfg, ctx.log, ctx.secrets);
    const resource: Attributes = { 'smc.server.address': new URL(cfg.url).host, ...cfg.resource };
    const mapping = new SmcMapping(cfg.name, cfg.metrics, resource, VERSION, { ...DEFAULT_LIMITS, ...cfg.limits });
    const socket = (kind: SmcSocketKind, path: string, commands: Command[], repeatMs: number) => new SmcProtocol({
      kind, path, commands, login, mapping, resource, repeatMs, warn: new SampledWarn(ctx.log.child({ socket: kind })),
    });
    const protocols: SmcProtocol[] = [];
    if (cfg.contexts.length) protocols.push(socket('notification', cfg.notification_path, cfg.contexts.map((c) => ({ context: c })), 0));
    if (cfg.elements.length || cfg.status_contexts.length) {
      const commands: Command[] = [...cfg.elements.map((e) => ({ element: e })), ...cfg.status_contexts.map((c) => ({ context: c }))];
      protocols.push(socket('status', cfg.status_path, commands, cfg.status_repeat_interval));
    }
    super(cfg, ctx, protocols);
    this.login = login;
  }

  /** Unsubscribe on each socket, close both, then log out (`PUT /logout`). */
  override async stop(): Promise<void> {
    await super.stop();
    await this.login.logoutAll();
  }

  /** The protocol of that socket (tests: its confirmed subscriptions). */
  socket(kind: SmcSocketKind): SmcProtocol | undefined {
    return (this.protocols as SmcProtocol[]).find((p) => p.label === kind);
  }
}

export const smcSource: SourceFactory<SmcConfig> = {
  type: 'smc',
  schema: smcSchema,
  check: checkSmc,
  create: (config, ctx) => new SmcSource(config, ctx),
};
