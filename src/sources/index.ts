import type { SourceFactory } from './source.js';
import { mistSource } from './mist/source.js';
import { webSocketSource } from './websocket/source.js';

// The registry: `type:` in a sources entry → its factory. A new vendor is a folder and a line here.
export const sourceFactories: Record<string, SourceFactory<any>> = {
  [mistSource.type]: mistSource,
  [webSocketSource.type]: webSocketSource,
};
