import type { SourceContext, SourceFactory } from '../source.js';
import { ProtocolSource } from '../protocol_source.js';
import { checkSysadm, sysadmSchema, type SysadmConfig } from './config.js';
import { SysadmProtocol } from './protocol.js';

export { STATIC_TOKEN_REFUSED } from './protocol.js';

/**
 * The TrueOS/FreeBSD sysadm server's event stream: one Session around one SysadmProtocol
 * (./protocol.ts), which says what each frame meant.
 */
export class SysadmSource extends ProtocolSource {
  constructor(cfg: SysadmConfig, ctx: SourceContext) {
    super(cfg, ctx, [new SysadmProtocol(cfg, ctx)]);
  }
}

export const sysadmSource: SourceFactory<SysadmConfig> = {
  type: 'sysadm',
  schema: sysadmSchema,
  check: checkSysadm,
  create: (config, ctx) => new SysadmSource(config, ctx),
};
