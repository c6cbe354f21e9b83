import type { SourceFactory } from './source.js';
import { mistSource } from './mist/source.js';
import { sysadmSource } from './sysadm/source.js';
import { smcSource } from './smc/source.js';
import { nxapiSource } from './nxapi/source.js';
import { webSocketSource } from './websocket/source.js';

// The registry: `type:` in a sources entry → its factory. A new vendor is a folder and a line here.
export const sourceFactories: Record<string, SourceFactory<any>> = {
  [mistSource.type]: mistSource,
  [sysadmSource.type]: sysadmSource,
  [smcSource.type]: smcSource,
  [nxapiSource.type]: nxapiSource,
  [webSocketSource.type]: webSocketSource,
};
