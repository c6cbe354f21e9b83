import type convict from 'convict';
import { commonSourceSchema, type CommonSourceConfig } from '../source.js';
import { checkRange } from '../../config/formats.js';
import { EVENT_CLASSES, POLL_ACTIONS, isEventClass } from './wire.js';

/** sysadm's WebSocket port when the URL names none (12151 is its REST port). */
export const DEFAULT_PORT = 12150;
/** The server closes a socket that sent nothing for 30 minutes. */
export const SERVER_IDLE_LIMIT_MS = 30 * 60_000;
/** The longest keepalive interval: two thirds of the token's 900 s life, so one late round does not let it lapse. */
export const MAX_IDENTIFY_INTERVAL_MS = 600_000;

/** One `type: sysadm` entry of `sources:`. */
export interface SysadmConfig extends CommonSourceConfig {
  url: string;
  username: string;
  password: string;
  token: string;
  events: string[];
  identify_interval: number;
  poll: { interval: number; actions: string[] };
  /** The server's lockout policy; absent: DEFAULT_LOCKOUT. */
  lockout?: { attempts: number; window: number };
}

/** A real server blocks an address for an hour after 5 refused logins within 10 minutes. */
export const DEFAULT_LOCKOUT = { attempts: 5, window: 10 * 60_000 };

export function sysadmSchema(): convict.Schema<SysadmConfig> {
  return {
    // The server (Qt) answers WebSocket pings, but pings do not reset its idle timer: see identify_interval.
    ...commonSourceSchema('sysadm', { interval: '60s', timeout: '30s' }),
    url: {
      doc: `Server address, wss:// only (sysadm serves TLS only); port ${DEFAULT_PORT} when none is given`,
      format: 'ws-url',
      default: 'wss://127.0.0.1:12150',
    },
    username: { doc: 'User for `rpc auth` (with password)', format: String, default: '' },
    password: { doc: 'Password for `rpc auth` (or password_file)', format: String, default: '', sensitive: true },
    token: { doc: 'A token for `rpc auth_token`, instead of username/password (or token_file)', format: String, default: '', sensitive: true },
    events: {
      doc: `Event classes to subscribe: ${EVENT_CLASSES.join(', ')}`,
      format: 'nonempty-strings',
      default: [...EVENT_CLASSES],
    },
    identify_interval: {
      doc: 'How often to send `rpc identify` plus an authenticated `rpc query`, as the official client does: the message keeps the socket inside the 30-minute idle limit, the query keeps the token inside its 900 s life (identify alone does not extend it). 100ms to 10m',
      format: 'duration',
      default: '90s' as unknown as number,
    },
    lockout: {
      attempts: {
        doc: 'Refused logins within lockout.window after which the server blocks the address; ws2otel stays below it',
        format: (v: unknown) => {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 2 || v > 100) throw new Error('must be an integer from 2 to 100');
        },
        default: DEFAULT_LOCKOUT.attempts,
      },
      window: { doc: "The server's lockout window", format: 'duration', default: '10m' as unknown as number },
    },
    poll: {
      interval: { doc: 'How often to poll `sysadm systemmanager` for host metrics; 0 disables polling', format: 'duration', default: 0 },
      actions: {
        doc: `systemmanager actions to poll: ${POLL_ACTIONS.join(', ')}`,
        format: 'nonempty-strings',
        default: [...POLL_ACTIONS],
      },
    },
  };
}

export function checkSysadm(c: SysadmConfig): string[] {
  const problems: string[] = [];
  if (c.lockout && c.lockout.window <= 0) problems.push('lockout.window: must be above 0');
  let url: URL | undefined;
  try {
    url = new URL(c.url);
  } catch {
    /* the ws-url format already reported it */
  }
  if (url && url.protocol !== 'wss:') problems.push('url: sysadm serves WebSocket over TLS only: use wss://');
  const byPassword = c.username !== '' || c.password !== '';
  if (byPassword && c.token !== '') problems.push('token: give either username/password or token, not both');
  else if (byPassword && (c.username === '' || c.password === '')) problems.push(`${c.username === '' ? 'username' : 'password'}: required with ${c.username === '' ? 'password' : 'username'}`);
  else if (!byPassword && c.token === '') problems.push('username: give username and password (rpc auth), or token (rpc auth_token)');
  c.events.forEach((e, i) => {
    if (!isEventClass(e)) {
      const hint = isEventClass(e.replaceAll('_', '-')) ? ` (event names are hyphenated: ${e.replaceAll('_', '-')})` : '';
      problems.push(`events[${i}]: unknown event class ${JSON.stringify(e)}${hint}; known: ${EVENT_CLASSES.join(', ')}`);
    }
  });
  if (new Set(c.events).size !== c.events.length) problems.push('events: lists a class twice');
  if (c.identify_interval <= 0) problems.push('identify_interval: must be above 0 (the server closes idle sockets after 30 minutes)');
  else if (c.identify_interval >= SERVER_IDLE_LIMIT_MS) problems.push('identify_interval: must be well under the server\'s 30-minute idle limit');
  // The query that extends the token must come well inside its 900 s; below 100 ms it is a busy loop.
  else checkRange(problems, 'identify_interval', c.identify_interval, 100, MAX_IDENTIFY_INTERVAL_MS, ' ms');
  (c.poll.actions as string[]).forEach((a, i) => {
    if (!(POLL_ACTIONS as readonly string[]).includes(a)) problems.push(`poll.actions[${i}]: unknown action ${JSON.stringify(a)}; known: ${POLL_ACTIONS.join(', ')}`);
  });
  return problems;
}

/** The URL to dial: the configured one, with the default port filled in. */
export function dialUrl(url: string): string {
  const u = new URL(url);
  // URL drops an explicit default port (wss://h:443 → port ''), so look at the text itself.
  const authority = url.split('/')[2] ?? '';
  if (u.port === '' && !/:\d+$/.test(authority)) u.port = String(DEFAULT_PORT);
  return u.toString();
}
