import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { WebSocket } from 'ws';

// The credentials the in-process simulators hand out at run time (session cookies, login tokens), as
// a daemon under test learns them: read off what the simulators send, whatever simulator sends it.

type Kind = string;

/** The string values of every key named like `token` in a JSON document (any depth). */
function tokensIn(value: unknown, out: [Kind, string][]): void {
  if (Array.isArray(value)) for (const v of value) tokensIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/token/i.test(k) && typeof v === 'string') out.push([`json ${k}`, v]);
      else tokensIn(v, out);
    }
  }
}

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Records, while started, every Set-Cookie value and every JSON `token` field of the HTTP answers this
 * process serves, and every WebSocket frame it sends that carries a token: a JSON `token` field, or
 * sysadm's `rpc auth` reply (`"name":"response","args":["<token>",<seconds>]`).
 */
export class HandedOut {
  private readonly seen = new Map<Kind, Set<string>>();
  private realSend: WebSocket['send'] | undefined;
  private readonly onResponse = (message: unknown): void => this.watch((message as { response: ServerResponse }).response);

  start(): void {
    subscribe('http.server.response.created', this.onResponse);
    const real = WebSocket.prototype.send;
    this.realSend = real;
    const frame = (data: unknown) => typeof data === 'string' && this.frame(data);
    WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      frame(data);
      return (real as (...a: unknown[]) => void).call(this, data, ...rest);
    } as WebSocket['send'];
  }

  stop(): void {
    unsubscribe('http.server.response.created', this.onResponse);
    if (this.realSend) WebSocket.prototype.send = this.realSend;
    this.realSend = undefined;
  }

  /** Kind (`cookie JSESSIONID`, `json token`, `sysadm token`, …) → the values handed out. */
  byKind(): Map<Kind, Set<string>> {
    return this.seen;
  }

  all(): string[] {
    return [...this.seen.values()].flatMap((s) => [...s]);
  }

  private add(kind: Kind, value: string): void {
    if (value.length < 4) return;
    let set = this.seen.get(kind);
    if (!set) this.seen.set(kind, (set = new Set()));
    set.add(value);
  }

  private cookies(header: unknown): void {
    for (const c of [header].flat()) {
      const m = /^\s*([^=;\s]+)=([^;]*)/.exec(String(c ?? ''));
      if (m) this.add(`cookie ${m[1]}`, m[2]!);
    }
  }

  private watch(res: ServerResponse): void {
    const writeHead = res.writeHead;
    const end = res.end;
    const chunks: string[] = [];
    res.writeHead = ((...args: unknown[]) => {
      for (const a of args) {
        if (a && typeof a === 'object') for (const [k, v] of Object.entries(a)) if (k.toLowerCase() === 'set-cookie') this.cookies(v);
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(res, args);
    }) as ServerResponse['writeHead'];
    res.end = ((...args: unknown[]) => {
      if (typeof args[0] === 'string' || Buffer.isBuffer(args[0])) chunks.push(args[0].toString());
      this.cookies(res.getHeader('set-cookie'));
      const out: [Kind, string][] = [];
      tokensIn(json(chunks.join('')), out);
      for (const [k, v] of out) this.add(k, v);
      return (end as (...a: unknown[]) => ServerResponse).apply(res, args);
    }) as ServerResponse['end'];
  }

  private frame(text: string): void {
    const msg = json(text) as { name?: unknown; args?: unknown } | undefined;
    if (msg && msg.name === 'response' && Array.isArray(msg.args) && typeof msg.args[0] === 'string' && typeof msg.args[1] === 'number') {
      this.add('sysadm token', msg.args[0]);
    }
    const out: [Kind, string][] = [];
    tokensIn(msg, out);
    for (const [k, v] of out) this.add(k, v);
  }
}
