import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { MAX_DURATION_MS } from '../../src/config/formats.js';

// Property-based tests of the config loader (issue 12, item 4): whatever document it is given, it
// either returns a config that can run or throws a ConfigError whose every problem names a key; it
// never throws anything else and never touches Object.prototype.

const SITE = '/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices';
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function good(): Record<string, any> {
  return {
    sources: [{ name: 'm', type: 'mist', token: 'tok-123456', channels: [SITE] }],
    sinks: [{ name: 'o', type: 'otlp_http', endpoint: 'http://127.0.0.1:4318' }],
  };
}

// Values an operator (or an attacker) might put anywhere: durations at and around the timer limit,
// counts around 0, non-finite numbers, wrong types, URLs with credentials, prototype keys.
const hostile = fc.oneof(
  fc.constantFrom(0, -1, 1, 1023, 1024, MAX_DURATION_MS, MAX_DURATION_MS + 1, Number.MAX_SAFE_INTEGER, 1e308, NaN, Infinity, -Infinity, 0.5),
  fc.constantFrom('0', '1000h', '596h', '597h', '1ms', '99ms', '100ms', '-5s', '1e400', 'NaN', '', ' ', '${NOPE}', '$${x}'),
  fc.constantFrom('http://admin:pass@host', 'http://[::1', 'ws://x', 'wss://u:p@x/', '127.0.0.1:notaport', '[::1]:8686'),
  fc.constantFrom(null, true, false, [], {}, { __proto__: null }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

const KEYS = ['sources', 'sinks', 'http', 'address', 'data_dir', 'shutdown_grace', 'log_level', 'batch', 'max_events', 'timeout',
  'buffer', 'type', 'fsync', 'retry', 'initial_interval', 'max_interval', 'reconnect', 'keepalive', 'interval', 'max_frame_bytes',
  'headers', 'endpoint', 'logs_endpoint', 'url', 'token', 'channels', 'name', 'inputs', 'tls', 'ca_file', 'insecure_skip_verify',
  '__proto__', 'constructor', 'prototype', 'resource', 'metrics'];

/** A path of keys and list indexes into the good document. */
const path = fc.array(fc.oneof(fc.constantFrom(...KEYS), fc.nat({ max: 2 })), { minLength: 1, maxLength: 4 });

/** Sets doc[path] = value, creating maps on the way with own properties (JSON.parse does the same for __proto__). */
function setAt(doc: Record<string, unknown>, keys: (string | number)[], value: unknown): void {
  let cur: any = doc;
  for (const k of keys.slice(0, -1)) {
    const next = Object.hasOwn(cur, k) ? cur[k] : undefined; // never walk into Object.prototype itself
    if (typeof next !== 'object' || next === null) Object.defineProperty(cur, k, { value: {}, enumerable: true, writable: true, configurable: true });
    cur = cur[k];
  }
  // A copy: the hostile values include shared constants ([], {}) that a later edit would otherwise walk into
  // and change for every later run, and for fast-check's own printing of a counterexample.
  Object.defineProperty(cur, keys[keys.length - 1]!, { value: copyOf(value), enumerable: true, writable: true, configurable: true });
}

function copyOf(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const c = structuredClone(v);
  return Object.getPrototypeOf(v) === null ? Object.assign(Object.create(null), c) : c;
}

/** What every config that validates must satisfy for the daemon not to run away. */
function assertRunnable(c: ReturnType<typeof buildConfig>): void {
  const durations: number[] = [c.shutdown_grace];
  for (const { config: s } of c.sources) {
    durations.push(s.reconnect.initial_interval, s.reconnect.max_interval, s.keepalive.interval, s.keepalive.timeout);
    assert.ok(s.keepalive.interval >= 100 && s.keepalive.timeout >= 100, 'keepalive floor');
    assert.ok(s.reconnect.initial_interval >= 50, 'reconnect floor');
    assert.ok(s.max_frame_bytes >= 1024, 'max_frame_bytes floor');
  }
  for (const { config: k } of c.sinks) {
    durations.push(k.batch.timeout, k.retry.initial_interval, k.retry.max_interval, k.retry.max_elapsed_time);
    if (typeof k.buffer.fsync === 'number') durations.push(k.buffer.fsync);
    assert.ok(Number.isInteger(k.batch.max_events) && k.batch.max_events >= 1, 'batch.max_events >= 1');
    assert.ok(k.buffer.max_events >= 1, 'buffer.max_events >= 1');
  }
  for (const d of durations) assert.ok(Number.isFinite(d) && d >= 0 && d <= MAX_DURATION_MS, `duration ${d} in range`);
}

function check(doc: unknown): void {
  try {
    assertRunnable(buildConfig(doc, { SET: 'value' }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    assert.ok(err.problems.length > 0);
    // Every problem starts with a key path (odd key segments quoted: "a b") and a colon.
    for (const p of err.problems) assert.match(p, /^(?:\(top level\)|(?:"(?:[^"\\]|\\.)*"|[^\s:"])+): \S/, p);
  } finally {
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    for (const k of ['polluted', 'type', 'name', 'sources']) assert.equal(k in Object.prototype, false, `Object.prototype.${k}`);
  }
}

describe('config loader (property-based)', () => {
  it('returns a runnable config or a ConfigError naming keys, for any JSON document', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (doc) => check(doc)), { numRuns: RUNS });
  });

  it('returns a runnable config or a ConfigError naming keys, for a good config with hostile values at random paths', () => {
    fc.assert(fc.property(fc.array(fc.tuple(path, hostile), { minLength: 1, maxLength: 4 }), (edits) => {
      const doc = good();
      for (const [keys, value] of edits) setAt(doc, keys, value);
      check(doc);
    }), { numRuns: RUNS });
  });

  it('returns a ConfigError naming the key, never a stack overflow, for a value at a random path that contains itself (a recursive YAML alias)', () => {
    fc.assert(fc.property(path, fc.boolean(), (keys, asList) => {
      const doc = good();
      const loop: any = asList ? [] : {};
      if (asList) loop.push(loop);
      else loop.self = loop;
      setAt(doc, keys, loop);
      // Refused as a loop, or before the walk reaches it for a key on its path (`constructor`, …).
      assert.throws(() => buildConfig(doc, {}), (err: unknown) => err instanceof ConfigError &&
        err.problems.some((p) => p.includes('contains itself') || p.includes('key not allowed')));
    }), { numRuns: RUNS });
  });

  it('never lets a __proto__ key through, whatever else the document holds', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('sources', 'sinks', 0, 'headers', 'resource', 'http'), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }), (keys, value) => {
      const text = JSON.stringify(good());
      const doc = JSON.parse(text);
      setAt(doc, [...keys, '__proto__'], { polluted: 'yes', value });
      assert.throws(() => buildConfig(doc, {}), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('__proto__')));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }), { numRuns: RUNS });
  });

  it('parses any text as YAML or JSON without throwing anything but a ConfigError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), fc.constantFrom('c.yaml', 'c.json'), (text, file) => {
      let doc: unknown;
      try {
        doc = parseConfigText(text, file);
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return;
      }
      check(doc);
    }), { numRuns: RUNS });
  });
});
