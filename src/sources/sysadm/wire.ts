// The sysadm wire format, shared by the source and the simulator (see README.md,
// "Protocol"; the server's source wins over its docs). Every message, either way, is one JSON object:
//   request  {"namespace","name","id","args"}
//   reply    {"namespace":<same>,"name":"response","id":<same>,"args":...}
//   error    {"namespace":"error","name":"error","id":<id>,"args":{"code":"401","message":"Unauthorized"}}
//   event    {"namespace":"events","name":"system-state","id":"","args":{...}}

export interface SysadmMessage {
  namespace: string;
  name: string;
  id: string;
  args?: unknown;
}

/** The event classes a client can subscribe to. Hyphenated: the docs' `system_state` is wrong. */
export const EVENT_CLASSES = ['dispatcher', 'life-preserver', 'system-state'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export function isEventClass(name: string): name is EventClass {
  return (EVENT_CLASSES as readonly string[]).includes(name);
}

/** `systemmanager` actions ws2otel knows how to map. */
export const POLL_ACTIONS = ['memorystats', 'cpupercentage', 'cputemps'] as const;
export type PollAction = (typeof POLL_ACTIONS)[number];

/** The codes the server sends, always as strings. */
export const ERROR_MESSAGES: Record<string, string> = {
  '400': 'Bad Request',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'Not Found',
};

export function errorEnvelope(id: string, code: '400' | '401' | '403' | '404'): SysadmMessage {
  return { namespace: 'error', name: 'error', id, args: { code, message: ERROR_MESSAGES[code] } };
}

/** The error code of an error envelope ('' when the message is not one). */
export function errorCode(msg: SysadmMessage): string {
  if (msg.namespace !== 'error') return '';
  const args = msg.args as { code?: unknown } | undefined;
  return typeof args?.code === 'string' || typeof args?.code === 'number' ? String(args.code) : '?';
}

/** Parses one frame into an envelope, or returns why it is not one. */
export function parseMessage(text: string): SysadmMessage | 'malformed_json' | 'bad_envelope' {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'malformed_json';
  }
  return toMessage(v);
}

/** A parsed frame as an envelope, or 'bad_envelope'. */
export function toMessage(v: unknown): SysadmMessage | 'bad_envelope' {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'bad_envelope';
  const m = v as Record<string, unknown>;
  if (typeof m.namespace !== 'string' || typeof m.name !== 'string') return 'bad_envelope';
  if (m.id !== undefined && typeof m.id !== 'string' && typeof m.id !== 'number') return 'bad_envelope';
  return { namespace: m.namespace, name: m.name, id: m.id === undefined ? '' : String(m.id), args: m.args };
}
