import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RETIRED_MAX, SecretScope, componentSecrets, retired } from '../../src/telemetry/secrets.js';
import { hasSecrets, peerText, scrub } from '../../src/telemetry/logger.js';

describe('telemetry/secrets: scopes the scrub uses', () => {
  it('scrubs a component scope\'s values from a line, and a session\'s while it lives and among the last RETIRED_MAX retired, no longer', () => {
    const scope = componentSecrets('source', 'secrets-test-1');
    scope.add('config-pass-9f2');
    const login = scope.session('login');
    login.add('learnt-token-77a');
    assert.equal(scrub('pw config-pass-9f2 tok learnt-token-77a'), 'pw [REDACTED] tok [REDACTED]');
    login.end();
    assert.equal(scope.size, 1, 'the scope no longer holds the ended session\'s token');
    // Data carrying it may still be buffered or dead-lettered after the session: still scrubbed...
    assert.equal(scrub('tok learnt-token-77a'), 'tok [REDACTED]');
    // ...until RETIRED_MAX newer values have retired after it.
    for (let i = 0; i < RETIRED_MAX; i++) {
      const next = scope.session('login');
      next.add(`later-token-${i}-x`);
      next.end();
    }
    assert.equal(scrub('tok learnt-token-77a'), 'tok learnt-token-77a');
    assert.ok(retired().size <= RETIRED_MAX);
    assert.equal(peerText('echo config-pass-9f2'), 'echo [REDACTED]');
    assert.ok(hasSecrets());
  });

  it('stays bounded over 10,000 re-logins: each login ends the last one\'s scope', () => {
    const scope = new SecretScope('bounded');
    let login: SecretScope | undefined;
    for (let i = 0; i < 10_000; i++) {
      login?.end();
      login = scope.session();
      login.add(`token-${i}-abcdef`);
      login.add(`cookie-${i}-abcdef`);
    }
    assert.equal(scope.size, 2);
    assert.equal(scope.sessions, 1);
    assert.ok(retired().size <= RETIRED_MAX, 'what the scrub still covers of ended sessions is bounded too');
  });

  it('gives the same scope for the same component, so the config loader and the component share it', () => {
    assert.equal(componentSecrets('sink', 'same'), componentSecrets('sink', 'same'));
    assert.notEqual(componentSecrets('sink', 'same'), componentSecrets('source', 'same'));
  });

  it('ignores values too short to scrub without mangling ordinary words, and adds nothing to an ended scope', () => {
    const s = new SecretScope('short');
    s.add('abc');
    assert.equal(s.size, 0);
    const child = s.session();
    child.end();
    child.add('after-the-end');
    assert.equal(s.size, 0);
  });
});
