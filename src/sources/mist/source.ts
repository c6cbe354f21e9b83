import type { SourceContext, SourceFactory } from '../source.js';
import { ProtocolSource } from '../protocol_source.js';
import { checkMist, mistSchema, type MistConfig } from './config.js';
import { MistProtocol } from './protocol.js';

/**
 * Juniper Mist's stream API: one Session around one MistProtocol (./protocol.ts), which says what each
 * frame meant; the session subscribes, waits for every channel's answer, names refused or unanswered
 * channels in /readyz and asks for them again on the slow schedule.
 */
export class MistSource extends ProtocolSource {
  constructor(cfg: MistConfig, ctx: SourceContext) {
    super(cfg, ctx, [new MistProtocol(cfg, ctx)]);
  }
}

export const mistSource: SourceFactory<MistConfig> = {
  type: 'mist',
  schema: mistSchema,
  check: checkMist,
  create: (config, ctx) => new MistSource(config, ctx),
};
