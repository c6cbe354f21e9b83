// Secret values, held in scopes. Each component gets its own scope (its config-time secrets: passwords,
// tokens, header values); a login's learnt credentials (a session token, a cookie) live in a child
// scope ended with that session, so re-logins never grow the set. The logger scrubs every line against
// the union of live scopes (telemetry/logger.ts); a dead-letter file and the tap go through the same scrub.

/** Shorter values would scrub ordinary words out of every line. */
const MIN_LENGTH = 4;

/**
 * How many values of ended sessions are still scrubbed. Data can outlive the session whose credential
 * it carries (a vendor echoing a session id in a frame that then waits in a buffer, or is dead-lettered
 * during the drain after stop), so an ended session's values stay in the scrub for a while; the oldest
 * go first, so the set stays bounded however many re-logins there are.
 */
export const RETIRED_MAX = 64;
const retiredValues = new Set<string>();

function retire(values: Iterable<string>): void {
  for (const v of values) {
    retiredValues.delete(v);
    retiredValues.add(v);
  }
  while (retiredValues.size > RETIRED_MAX) retiredValues.delete(retiredValues.values().next().value!);
}

/** The values of ended sessions still scrubbed (newest last), at most RETIRED_MAX. */
export function retired(): ReadonlySet<string> {
  return retiredValues;
}

export class SecretScope {
  private readonly values = new Set<string>();
  private readonly children = new Set<SecretScope>();
  private ended = false;

  constructor(readonly name: string, private readonly parent?: SecretScope) {}

  add(value: string | undefined): void {
    if (!this.ended && value && value.length >= MIN_LENGTH) this.values.add(value);
  }

  delete(value: string | undefined): void {
    if (value) this.values.delete(value);
  }

  /** A child scope for one login/session: `end()` it when that session is over. */
  session(name = 'session'): SecretScope {
    const child = new SecretScope(`${this.name}/${name}`, this);
    if (this.ended) child.ended = true;
    else this.children.add(child);
    return child;
  }

  /**
   * Drops this scope's values and its children's, and detaches it: the scope holds nothing any more, and
   * its values join the bounded set of recently retired ones the scrub still covers (RETIRED_MAX).
   */
  end(): void {
    this.ended = true;
    retire(this.values);
    this.values.clear();
    for (const c of [...this.children]) c.end();
    this.parent?.children.delete(this);
  }

  /** How many values this scope and its live children hold. */
  get size(): number {
    let n = this.values.size;
    for (const c of this.children) n += c.size;
    return n;
  }

  /** How many live child scopes hang below this one (a bound tests check after many re-logins). */
  get sessions(): number {
    let n = this.children.size;
    for (const c of this.children) n += c.sessions;
    return n;
  }

  *[Symbol.iterator](): Iterator<string> {
    yield* this.values;
    for (const c of this.children) yield* c;
  }
}

/** Every live scope hangs below this root; the logger scrubs against all of it. */
export const secretRoot = new SecretScope('secrets');

/** Scopes for secrets not tied to one component (the daemon's own http settings, tests' registerSecret). */
export const globalSecrets = secretRoot.session('global');

const components = new Map<string, SecretScope>();

/**
 * A component's scope, by kind and name: the config loader fills it at validation, the component's
 * context carries the same one, so a reload of the same component keeps one scope.
 */
export function componentSecrets(kind: 'source' | 'sink', name: string): SecretScope {
  const key = `${kind}:${name}`;
  let s = components.get(key);
  if (!s) {
    s = secretRoot.session(key);
    components.set(key, s);
  }
  return s;
}
