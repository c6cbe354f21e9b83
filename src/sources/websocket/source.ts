import type { SourceContext, SourceFactory } from '../source.js';
import { ProtocolSource } from '../protocol_source.js';
import { checkWebSocket, webSocketSchema, type WebSocketConfig } from './config.js';
import { WebSocketProtocol } from './protocol.js';

/**
 * Any JSON-over-WebSocket notification API, described by configuration: an optional HTTP login
 * (token or cookie), headers and URL filled from it, messages sent after open, an application
 * heartbeat, and rules saying which frames are metrics and which are log records. One Session around
 * one WebSocketProtocol (./protocol.ts).
 */
export class WebSocketSource extends ProtocolSource {
  constructor(cfg: WebSocketConfig, ctx: SourceContext) {
    super(cfg, ctx, [new WebSocketProtocol(cfg, ctx)]);
  }
}

export const webSocketSource: SourceFactory<WebSocketConfig> = {
  type: 'websocket',
  schema: webSocketSchema,
  check: checkWebSocket,
  create: (config, ctx) => new WebSocketSource(config, ctx),
};
