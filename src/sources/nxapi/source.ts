import type { SourceContext, SourceFactory, SourceStatus } from '../source.js';
import { ProtocolSource } from '../protocol_source.js';
import { checkNxapi, nxapiSchema, type NxapiConfig } from './config.js';
import { NxapiProtocol } from './protocol.js';

/**
 * Cisco NX-API REST subscriptions (NX-OS switches, APIC clusters): one Session around one
 * NxapiProtocol (./protocol.ts). Its status also names the controller in use, for /readyz.
 */
export class NxapiSource extends ProtocolSource {
  private readonly nxapi: NxapiProtocol;

  constructor(cfg: NxapiConfig, ctx: SourceContext) {
    const protocol = new NxapiProtocol(cfg, ctx);
    super(cfg, ctx, [protocol]);
    this.nxapi = protocol;
  }

  override status(): SourceStatus {
    const st = super.status();
    return { ...st, detail: `${st.detail}; controller ${this.nxapi.controller}` };
  }
}

export const nxapiSource: SourceFactory<NxapiConfig> = {
  type: 'nxapi',
  schema: nxapiSchema,
  check: checkNxapi,
  create: (config, ctx) => new NxapiSource(config, ctx),
};
