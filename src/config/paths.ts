import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Why `dir` cannot take new files, or undefined when it can. A directory that does not exist yet is
 * judged by its nearest existing parent (it will be created there). Checked at validate and again at
 * start, so a read-only mount or a missing directory is a config error naming its key, not a stack trace.
 */
export function unwritableDir(dir: string, mayCreate: boolean): string | undefined {
  let cur = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return `${cur}: ${code}`;
      if (!mayCreate) return `${cur}: directory does not exist`;
      const up = dirname(cur);
      if (up === cur) return `${cur}: does not exist`;
      cur = up;
      continue;
    }
    if (!st.isDirectory()) return `${cur}: not a directory`;
    try {
      accessSync(cur, constants.W_OK | constants.X_OK);
    } catch (err) {
      return `${cur}: not writable (${(err as NodeJS.ErrnoException).code})`;
    }
    return undefined;
  }
}

/** host:port of a listener; port 0–65535, host a name or an IP address ([::1] for IPv6). */
export function parseListenAddress(address: string): { host: string; port: number } | string {
  const idx = address.lastIndexOf(':');
  if (idx < 0) return 'must be host:port, e.g. 127.0.0.1:8686';
  const rawHost = address.slice(0, idx);
  const portText = address.slice(idx + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return `port ${JSON.stringify(portText)} must be a number from 0 to 65535`;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]$/.exec(rawHost);
  if (rawHost.includes(':') && !bracketed) return 'an IPv6 host goes in brackets: [::1]:8686';
  const host = bracketed ? bracketed[1]! : rawHost;
  if (!bracketed && host !== '' && !/^[A-Za-z0-9.-]+$/.test(host)) return `host ${JSON.stringify(host)} is not a name or an IP address`;
  return { host: host || '127.0.0.1', port: Number(portText) };
}
