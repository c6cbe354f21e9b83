import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MistProtocol } from '../../../src/sources/mist/protocol.js';
import { mistSource } from '../../../src/sources/mist/source.js';
import { CLIENT_STATS_FRAME } from '../../fixtures/mist.js';
import { CaptureEmitter, silentLog, sourceConfig } from '../../helpers/capture.js';

const A = '/sites/0d1f2e3c-1111-2222-3333-444455556666/stats/devices';
const B = '/sites/0d1f2e3c-1111-2222-3333-444455556666/stats/clients';
const info = { bytes: 10, receivedMs: 1000 };

function protocol(): MistProtocol {
  const cfg = sourceConfig(mistSource, { url: 'ws://x', token: 'tok', channels: [A, B, A], resource: { team: 'noc' } });
  return new MistProtocol(cfg, { emitter: new CaptureEmitter(), log: silentLog });
}

describe('Mist protocol', () => {
  it('sends one subscribe per channel at open, a duplicate once, and expects an answer for each, by channel name', () => {
    const o = protocol().open();
    assert.deepEqual(o.send, [JSON.stringify({ subscribe: A }), JSON.stringify({ subscribe: B })]);
    assert.deepEqual(o.expect, [A, B]);
  });

  it('turns channel_subscribed and subscribe_failed into acks that name the channel and say why', () => {
    const p = protocol();
    assert.deepEqual(p.frame({ event: 'channel_subscribed', channel: A }, info), { acks: [{ name: A, ok: true }] });
    assert.deepEqual(p.frame({ event: 'subscribe_failed', channel: B, detail: 'permission denied' }, info), { acks: [{ name: B, ok: false, detail: 'permission denied' }] });
    assert.deepEqual([...p.confirmed], [A]);
  });

  it('rejects an answer about a channel it never asked for, so it cannot grow the subscription set', () => {
    const p = protocol();
    assert.deepEqual(p.frame({ event: 'channel_subscribed', channel: '/sites/other/stats/devices' }, info).rejects?.[0]?.reason, 'unknown_channel');
    assert.equal(p.confirmed.size, 0);
  });

  it('asks again for a refused or unanswered channel with a subscribe frame', () => {
    assert.deepEqual(protocol().resubscribe(B), { send: [JSON.stringify({ subscribe: B })] });
  });

  it('maps a data frame to envelopes and an empty payload to nothing (the session counts it unmapped)', () => {
    const p = protocol();
    const f = JSON.parse(CLIENT_STATS_FRAME) as { channel: string; data: string };
    const m = p.frame({ event: 'data', channel: B, data: f.data }, info);
    assert.equal(m.envelopes?.length, 1);
    assert.deepEqual(p.frame({ event: 'data', channel: A, data: '{}' }, info), {});
    assert.equal(p.frame({ event: 'data', channel: A, data: '{x' }, info).rejects?.[0]?.reason, 'malformed_data');
    assert.equal(p.frame({ event: 'hello' }, info).rejects?.[0]?.reason, 'unknown_type');
  });

  it('unsubscribes only confirmed channels at stop and forgets them when the socket closes', async () => {
    const p = protocol();
    p.frame({ event: 'channel_subscribed', channel: B }, info);
    const sent: string[] = [];
    await p.stop({ send: (t) => void sent.push(t), deliver: () => {}, signal: new AbortController().signal });
    assert.deepEqual(sent, [JSON.stringify({ unsubscribe: B })]);
    p.closed();
    assert.equal(p.confirmed.size, 0);
  });
});
