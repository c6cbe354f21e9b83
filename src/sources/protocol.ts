import type { Attributes, Envelope } from '../model.js';

// The contract between the one session (src/sources/session.ts: socket lifecycle, decoding, counting,
// emitting, reconnecting, slow schedules, subscription deadlines, gap signals) and a vendor's protocol
// (src/sources/<vendor>/protocol.ts: what a frame meant). The protocol returns values; it never calls
// back into the session, never counts, never emits, never closes a socket. Like Vector's websocket
// source and its decoder, or ws's receiver and its connection.

/** A counted rejection: `reason` is the `ws2otel_source_frames_rejected_total{reason}` label. */
export interface Rejection {
  reason: string;
  /** A few flat fields for the sampled warning (never the frame itself, never a secret). */
  detail?: Record<string, unknown>;
}

/** What a subscription's answer said. `name` is one of the names the protocol's `open` expected. */
export interface Ack {
  name: string;
  ok: boolean;
  /** Why it was refused (the vendor's words, cut short): shown in /readyz and the warning. */
  detail?: string;
}

/**
 * What one frame (or one piece of out-of-frame work such as a REST snapshot) meant. The session acts
 * on every field; a Meaning with none of them set is the one rule for a frame that maps to nothing:
 * it is counted as rejected with reason `unmapped`, for every vendor alike.
 */
export interface Meaning {
  /** Telemetry to emit: the session makes it fit (values.ts), caps it per frame, counts and emits it. */
  envelopes?: Envelope[];
  /** Counted rejections (a frame may be partly good: envelopes and rejects together). */
  rejects?: Rejection[];
  /** Subscription answers: the session tracks each expected name's state and deadline. */
  acks?: Ack[];
  /** Text frames to send on this connection (a keepalive answer, an authenticated query). */
  send?: string[];
  /** A control frame understood and needing nothing (a login reply, a pong-like frame): not `unmapped`. */
  control?: true;
  /** End this connection: an AuthError / LockoutSuspected / RateLimited (src/net/errors.ts) picks the slow schedule. */
  fail?: Error;
}

/** Where and how to open the socket; produced anew before every connection (after a fresh login). */
export interface ConnectTarget {
  url: string;
  headers: Record<string, string>;
  /** WebSocket subprotocols (SMC's `access_token, <token>` in its SSL-session mode). */
  protocols?: string[];
}

/** What a protocol wants when the socket opens. */
export interface Opening {
  /** Frames to send now (login, subscribe commands). */
  send?: string[];
  /**
   * Subscriptions this connection must get answered, by name (a channel, an element href, a query).
   * Each has a deadline (the source's `subscribe_timeout`); the session is established when the first
   * one is acknowledged, or at once when the list is empty. Refused or unanswered ones are retried on a
   * slow schedule through `Protocol.resubscribe`, without touching the healthy ones.
   */
  expect?: string[];
  /** Envelopes or acks already known at open (NX-API: a query's snapshot came back in its REST reply). */
  meaning?: Meaning;
}

/**
 * The session's handle for work a protocol does between frames (timers, REST calls): it may send on the
 * socket and deliver what that work meant. `signal` is aborted when this connection ends.
 */
export interface Link {
  send(text: string): void;
  deliver(meaning: Meaning): void;
  readonly signal: AbortSignal;
}

/** The vendor half of a session. One per socket (SMC has two, sharing one login). */
export interface Protocol {
  /** A short name for this socket in /readyz and logs when a source has several (`status`, `notification`). */
  readonly label?: string;
  /** Frames are JSON (the default: the session parses once, NUL bytes stripped) or text handed over as is. */
  readonly frames?: 'json' | 'text';
  /** Before every connection: log in where the vendor has a login. Throws AuthError / RateLimited / Error. */
  connect(signal: AbortSignal): Promise<ConnectTarget>;
  /** The socket is open: what to send and which subscriptions to expect answers for. */
  open(link: Link): Opening | Promise<Opening>;
  /** One decoded frame → what it meant. `value` is the parsed JSON (or the text, for `frames: 'text'`). */
  frame(value: unknown, info: FrameInfo): Meaning;
  /** Ask again for one subscription that was refused or never answered (slow schedule). */
  resubscribe?(name: string, link: Link): Meaning | Promise<Meaning>;
  /** The socket closed: forget per-connection state. An Error returned says what the close meant (a likely lockout). */
  closed?(): Error | void;
  /** Before a deliberate close: unsubscribe, log out (`link` is undefined when no socket is open). */
  stop?(link: Link | undefined): Promise<void>;
  /** The resource the source's `up` gauge and gap records carry (configured resource + the server). */
  resource(): Attributes;
}

export interface FrameInfo {
  /** Size of the raw frame. */
  bytes: number;
  /** Arrival time, epoch ms. */
  receivedMs: number;
}
