import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/config/errors.js';
import type { WebSocketConfig } from '../../../src/sources/websocket/config.js';

// Config alone describes a `type: websocket` source, so its mistakes must be caught at start-up with
// the key path of the mistake.

const GOOD = {
  name: 'gen', type: 'websocket', url: 'wss://stream.example.com/api-ws/v1/stream',
  headers: { Authorization: 'Token ${TOKEN}' },
  messages: [{ subscribe: '/sites/s1/stats/devices' }],
  payload: { path: 'data', json_string: true },
  frames: {
    metrics: { when: [{ path: 'event', equals: 'data' }, { path: 'channel', matches: '/stats/' }], time: { path: '_time', unit: 's' } },
    logs: { when: { path: 'channel', matches: '/devices$' }, body_path: 'text' },
  },
  metrics: [{ path: 'uptime', metric: 'mist.device.uptime', unit: 's', type: 'gauge' }],
};

function build(source: Record<string, unknown>, env: NodeJS.ProcessEnv = { TOKEN: 'tok-123456' }) {
  return buildConfig({ sources: [source], sinks: [{ name: 'out', type: 'file', path: '-' }] }, env);
}

function problems(source: Record<string, unknown>): string[] {
  try {
    build(source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('config was accepted');
}

describe('websocket source config', () => {
  it('accepts a Mist-shaped config and keeps structured keys as written, with ${ENV} substituted', () => {
    const cfg = build(GOOD).sources[0]!.config as WebSocketConfig;
    assert.equal(cfg.headers.Authorization, 'Token tok-123456');
    assert.deepEqual(cfg.messages, [{ subscribe: '/sites/s1/stats/devices' }]);
    assert.deepEqual(cfg.payload, { path: 'data', json_string: true });
    assert.equal(cfg.frames.metrics?.time?.unit, 's');
    assert.equal(cfg.keepalive.interval, 30_000);
  });

  it('names the key path of a bad condition path in frames.logs.when', () => {
    const p = problems({ ...GOOD, frames: { logs: { when: { path: 'a..b', equals: 'x' } } } });
    assert.ok(p.some((x) => x.startsWith('sources[0].frames.logs.when.path: must be a dotted path')), p.join('\n'));
  });

  it('names the list index of a bad regular expression in frames.metrics.when', () => {
    const p = problems({ ...GOOD, frames: { metrics: { when: [{ path: 'event', equals: 'data' }, { path: 'channel', matches: '(unclosed' }] } } });
    assert.ok(p.some((x) => x.startsWith('sources[0].frames.metrics.when[1].matches: not a valid regular expression')), p.join('\n'));
  });

  it('rejects a condition with no test or two tests, and unknown keys under frames', () => {
    const p = problems({ ...GOOD, frames: { ready: { when: { path: 'event' } }, logs: { when: { path: 'x', equals: 1, exists: true }, bodypath: 'text' } } });
    assert.ok(p.includes('sources[0].frames.ready.when: must have exactly one of equals, matches, exists'), p.join('\n'));
    assert.ok(p.includes('sources[0].frames.logs.when: must have exactly one of equals, matches, exists'), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('sources[0].frames.logs.bodypath: unknown key')), p.join('\n'));
  });

  it('requires login to yield something, with an http URL and a known time unit', () => {
    const p = problems({
      ...GOOD, login: { url: 'ftp://x/login', body: { user: 'u' } },
      frames: { metrics: { time: { path: '_time', unit: 'fortnights' } } },
    });
    assert.ok(p.includes('sources[0].login.url: must be an http:// or https:// URL'), p.join('\n'));
    assert.ok(p.includes('sources[0].login: needs token_path, cookie or both: what the login yields'), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('sources[0].frames.metrics.time.unit: must be one of s, ms')), p.join('\n'));
  });

  it('rejects a template that nothing fills', () => {
    const p = problems({ ...GOOD, headers: { Authorization: 'Bearer {token}' }, messages: ['{"auth":"{cookie}"}'] });
    assert.ok(p.includes('sources[0].headers.Authorization: uses {token} but token or login.token_path is not set'), p.join('\n'));
    assert.ok(p.includes('sources[0].messages: uses {cookie} but login.cookie is not set'), p.join('\n'));
  });

  it('rejects a source that can produce nothing, and a wrongly typed structured key', () => {
    const { metrics: _m, ...noRules } = GOOD;
    const p = problems({ ...noRules, frames: {} });
    assert.ok(p.some((x) => x.startsWith('sources[0].metrics: a websocket source has no default rules')), p.join('\n'));
    assert.deepEqual(problems({ ...GOOD, messages: 'subscribe' }), ['sources[0].messages: must be a list']);
  });

  it('rejects resource attribute rules without attribute or with a capture that has no group', () => {
    const p = problems({ ...GOOD, resource_attributes: [{ path: 'mac' }, { path: 'channel', attribute: 'site', from: 'frame', capture: '^/sites/' }] });
    assert.ok(p.includes('sources[0].resource_attributes[0].attribute: must be a non-empty string'), p.join('\n'));
    assert.ok(p.includes('sources[0].resource_attributes[1].capture: must have a capturing group: its first group is the value'), p.join('\n'));
  });

  it('reads the password from password_file like every secret key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-gen-'));
    writeFileSync(join(dir, 'pw'), 's3cret-pw\n');
    const cfg = build({
      ...GOOD, headers: {}, username: 'u', password_file: join(dir, 'pw'),
      login: { url: 'http://127.0.0.1:1/api/login', body: { username: '{username}', password: '{password}' }, token_path: 'session.token' },
    }).sources[0]!.config as WebSocketConfig;
    assert.equal(cfg.password, 's3cret-pw');
  });
});
