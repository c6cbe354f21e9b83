import type { Attributes } from '../../model.js';
import type { Ack, ConnectTarget, FrameInfo, Link, Meaning, Opening, Protocol } from '../protocol.js';
import { briefJson } from '../../mapping/values.js';
import type { SampledWarn } from '../../telemetry/logger.js';
import type { SmcMapping } from './mapping.js';
import { statusIdentity } from './mapping.js';
import { socketAuth, type SmcLogin, type SmcSession } from './login.js';

// What an SMC socket's frames mean (values out, no I/O): replies bind subscription ids to commands,
// events become log records, statuses metric points. Each of the two sockets has its own
// SmcProtocol; both share one SmcLogin. I/O happens only in connect/open/resubscribe/stop and in the
// status repeat timer, which delivers through the link.

export type SmcSocketKind = 'notification' | 'status';
export type Command = { context: string } | { element: string };

/** The name a command's acknowledgement goes by in /readyz and the session's subscription tracking. */
export function commandName(c: Command): string {
  return 'element' in c ? c.element : `context ${c.context}`;
}

/** Most element statuses one socket keeps for repeats. */
const MAX_REPEATED = 10_000;

export interface SmcProtocolOptions {
  kind: SmcSocketKind;
  path: string;
  commands: Command[];
  login: SmcLogin;
  mapping: SmcMapping;
  resource: Attributes;
  /** Status socket: re-emit each element's last status this often (0: never). */
  repeatMs: number;
  warn: SampledWarn;
}

interface Frame {
  success?: unknown;
  failure?: unknown;
  subscription_id?: unknown;
  event?: unknown;
  events?: unknown;
  status?: unknown;
}

export class SmcProtocol implements Protocol {
  readonly label: SmcSocketKind;
  private held: SmcSession | undefined;
  private stopping = false;
  /** Commands sent on this connection and not refused, in order: the server numbers them 0, 1, 2, … */
  private sent: Command[] = [];
  /** Sent and not yet answered with success or failure (answers come in order). */
  private pending: Command[] = [];
  /** subscription_id → what it subscribed, from the `success` replies. */
  private readonly confirmed = new Map<number, Command>();
  /**
   * The last status of each element on this connection (re-emitted, see status_repeat_interval), by
   * subscription_id, and for a family subscription by its id and the element the frame named.
   */
  private readonly lastStatus = new Map<string, { href: string | undefined; status: Record<string, unknown>; family?: string }>();

  constructor(private readonly o: SmcProtocolOptions) {
    this.label = o.kind;
  }

  /** subscription_id → command, as confirmed on the live connection. */
  subscriptions(): Map<number, Command> {
    return new Map(this.confirmed);
  }

  async connect(signal: AbortSignal): Promise<ConnectTarget> {
    const s = await this.o.login.acquire(signal);
    this.held = s;
    // No Origin header: the SMC's CORS filter refuses an upgrade that carries one (ws sends none by default).
    return { url: this.o.login.socketUrl(this.o.path, s.version), ...socketAuth(s) };
  }

  open(link: Link): Opening {
    this.sent = [...this.o.commands];
    this.pending = [...this.o.commands];
    if (this.o.kind === 'status' && this.o.repeatMs > 0) {
      const t = setInterval(() => link.deliver(this.repeat()), this.o.repeatMs);
      t.unref();
      link.signal.addEventListener('abort', () => clearInterval(t), { once: true });
    }
    return { send: this.o.commands.map((c) => JSON.stringify(c)), expect: this.o.commands.map(commandName) };
  }

  resubscribe(name: string, link: Link): Meaning {
    const c = this.o.commands.find((x) => commandName(x) === name);
    if (!c) return {};
    this.sent.push(c);
    this.pending.push(c);
    link.send(JSON.stringify(c));
    return {};
  }

  frame(value: unknown, info: FrameInfo): Meaning {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { rejects: [{ reason: 'malformed_json', detail: { bytes: info.bytes } }] };
    const f = value as Frame;
    const id = typeof f.subscription_id === 'number' ? f.subscription_id : undefined;
    if (f.failure !== undefined) return this.onFailure(f.failure);
    if (f.success !== undefined) return this.onSuccess(id);
    if (f.event !== undefined || f.events !== undefined) {
      if (id === undefined) return { rejects: [{ reason: 'bad_event', detail: { why: 'no subscription_id' } }] };
      const c = this.lookup(id);
      const env = this.o.mapping.events(f, { id, ...(c && 'context' in c ? { context: c.context } : {}) }, info.receivedMs);
      return env ? { envelopes: [env] } : { rejects: [{ reason: 'bad_event' }] };
    }
    if (f.status !== undefined) return this.onStatus(f, id, info.receivedMs);
    return { rejects: [{ reason: 'unknown_type', detail: { keys: Object.keys(f).slice(0, 5).join(',') } }] };
  }

  closed(): void {
    this.lastStatus.clear();
    this.sent = [];
    this.pending = [];
    this.confirmed.clear();
    const s = this.held;
    this.held = undefined;
    if (s) this.o.login.release(s, !this.stopping);
  }

  async stop(link: Link | undefined): Promise<void> {
    this.stopping = true;
    if (!link) return;
    for (const id of this.confirmed.keys()) link.send(JSON.stringify({ unsubscribe: id }));
  }

  resource(): Attributes {
    return this.o.resource;
  }

  private onStatus(f: Frame, id: number | undefined, receivedMs: number): Meaning {
    const inner = (f.status as { status?: unknown } | null)?.status;
    if (id === undefined || typeof inner !== 'object' || inner === null || Array.isArray(inner)) return { rejects: [{ reason: 'bad_status' }] };
    const c = this.lookup(id);
    const status = inner as Record<string, unknown>;
    let href: string | undefined;
    let family: string | undefined;
    let key = String(id);
    if (c && 'element' in c) href = c.element;
    else {
      // A family subscription (or an id never confirmed): only the frame can say which element it is.
      family = c && 'context' in c ? c.context : undefined;
      const who = statusIdentity(f as Record<string, unknown>, status);
      if (family !== undefined && !who) return { rejects: [{ reason: 'no_element', detail: { subscription_id: id } }] };
      href = who?.href;
      key = `${id} ${href ?? who?.name ?? ''}`;
    }
    const env = this.o.mapping.status(href, status, receivedMs, family);
    if (env.metrics.length === 0) return { rejects: [{ reason: 'unmapped', detail: { subscription_id: id } }] };
    // Bounded: a family may be thousands of elements, and names come from frames.
    if (!this.lastStatus.has(key) && this.lastStatus.size >= MAX_REPEATED) this.lastStatus.delete(this.lastStatus.keys().next().value!);
    this.lastStatus.set(key, { href, status, ...(family !== undefined ? { family } : {}) });
    return { envelopes: [env] };
  }

  /**
   * The status socket is quiet while nothing changes; the last status still holds as long as the
   * subscription is live, so it is emitted again, stamped now. A closed socket stops the repeats.
   */
  private repeat(): Meaning {
    const now = Date.now();
    const envelopes = [...this.lastStatus.values()].map(({ href, status, family }) => this.o.mapping.status(href, status, now, family));
    return envelopes.length ? { envelopes } : { control: true };
  }

  /** The confirmed subscription, else the id's place in the order sent (ids count from 0 per connection). */
  private lookup(id: number): Command | undefined {
    return this.confirmed.get(id) ?? this.sent[id];
  }

  private onSuccess(id: number | undefined): Meaning {
    const command = this.pending.shift();
    if (!command) return { control: true }; // an unsubscribe being acknowledged during stop
    // Answered, but without an id to bind: events are then attributed by their place in the order sent.
    if (id === undefined) this.o.warn.warn('success-no-id', { command }, 'subscription confirmed without a subscription_id');
    else this.confirmed.set(id, command);
    return { acks: [{ name: commandName(command), ok: true }] };
  }

  private onFailure(failure: unknown): Meaning {
    const command = this.pending.shift();
    // A refused command gets no subscription_id: later ids count past it.
    const at = command ? this.sent.indexOf(command) : -1;
    if (at >= 0) this.sent.splice(at, 1);
    const text = typeof failure === 'string' ? failure.slice(0, 500) : briefJson(failure, 500);
    // An unsubscribe refused while stopping, or a failure nobody asked for: nothing to fail.
    if (!command) return { control: true };
    const ack: Ack = { name: commandName(command), ok: false, detail: text };
    return { acks: [ack] };
  }
}
