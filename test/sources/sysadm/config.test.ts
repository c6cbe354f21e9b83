import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponent } from '../../../src/config/component.js';
import { sysadmSource } from '../../../src/sources/sysadm/source.js';
import { dialUrl, type SysadmConfig } from '../../../src/sources/sysadm/config.js';

const validate = (raw: Record<string, unknown>) => validateComponent<SysadmConfig>(sysadmSource, { name: 's', type: 'sysadm', ...raw }, 'sources[0]');

describe('sysadm config', () => {
  it('accepts a minimal config and fills the defaults', () => {
    const { config, problems } = validate({ url: 'wss://nas.example.org', username: 'monitor', password: 'pw' });
    assert.deepEqual(problems, []);
    assert.deepEqual(config!.events, ['dispatcher', 'life-preserver', 'system-state']);
    assert.equal(config!.identify_interval, 90_000, 'the official client\'s identify + query interval');
    assert.equal(config!.poll.interval, 0);
    assert.equal(config!.tls.insecure_skip_verify, false, 'verification is on by default');
  });

  it('dials port 12150 when the URL names none', () => {
    assert.equal(dialUrl('wss://nas.example.org'), 'wss://nas.example.org:12150/');
    assert.equal(dialUrl('wss://nas.example.org:4443'), 'wss://nas.example.org:4443/');
    assert.equal(dialUrl('wss://nas.example.org:443'), 'wss://nas.example.org/');
  });

  it('refuses ws://, missing credentials, mixed credentials and underscored event names, with key paths', () => {
    assert.deepEqual(validate({ url: 'ws://nas', username: 'u', password: 'p' }).problems, ['sources[0].url: sysadm serves WebSocket over TLS only: use wss://']);
    assert.deepEqual(validate({ url: 'wss://nas' }).problems, ['sources[0].username: give username and password (rpc auth), or token (rpc auth_token)']);
    assert.deepEqual(validate({ url: 'wss://nas', username: 'u' }).problems, ['sources[0].password: required with username']);
    assert.deepEqual(validate({ url: 'wss://nas', username: 'u', password: 'p', token: 't' }).problems, ['sources[0].token: give either username/password or token, not both']);
    const p = validate({ url: 'wss://nas', token: 'tok', events: ['system_state'] }).problems;
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^sources\[0\]\.events\[0\]: unknown event class "system_state" \(event names are hyphenated: system-state\)/);
  });

  it('refuses an identify interval at or above the 30-minute idle limit and unknown poll actions', () => {
    assert.deepEqual(validate({ url: 'wss://nas', token: 't', identify_interval: '30m' }).problems, ["sources[0].identify_interval: must be well under the server's 30-minute idle limit"]);
    assert.match(validate({ url: 'wss://nas', token: 't', poll: { interval: '30s', actions: ['procinfo'] } }).problems[0]!, /poll\.actions\[0\]: unknown action "procinfo"/);
  });

  it('refuses an identify interval that would let the 900 s token lapse, or that would busy-loop', () => {
    assert.deepEqual(validate({ url: 'wss://nas', token: 't', identify_interval: '15m' }).problems, ['sources[0].identify_interval: must be between 100 ms and 600000 ms']);
    assert.deepEqual(validate({ url: 'wss://nas', token: 't', identify_interval: '50ms' }).problems, ['sources[0].identify_interval: must be between 100 ms and 600000 ms']);
    assert.deepEqual(validate({ url: 'wss://nas', token: 't', identify_interval: '10m' }).problems, []);
  });
});
