import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayFilter } from '../../../src/sources/sysadm/replay.js';

const A = { message: '2026-01-01T00:00:00Z: snapshot', priority: '1 - Information', class: 'snapshot' };
const B = { message: '2026-01-01T00:05:00Z: replication', priority: '1 - Information', class: 'replication' };

describe('sysadm replay filter', () => {
  it('takes the first event of a class after a subscribe for a replay when it equals the last one emitted', () => {
    const f = new ReplayFilter();
    f.subscribed(['life-preserver']);
    assert.equal(f.isReplay('life-preserver', A), false, 'nothing emitted yet: the first connection\'s cache is news');
    f.reset();
    f.subscribed(['life-preserver']);
    assert.equal(f.isReplay('life-preserver', { ...A }), true, 'the same event replayed after a reconnect');
    assert.equal(f.isReplay('life-preserver', B), false);
  });

  it('emits an identical event outside the replay window, and a changed one inside it', () => {
    const f = new ReplayFilter();
    assert.equal(f.isReplay('life-preserver', A), false);
    assert.equal(f.isReplay('life-preserver', A), false, 'no subscribe before it: a real repeat');
    f.subscribed(['life-preserver']);
    assert.equal(f.isReplay('life-preserver', B), false, 'the cache moved on while disconnected');
  });

  it('keeps one event per class, and an empty cache ("") closes that class\'s window', () => {
    const f = new ReplayFilter();
    f.isReplay('dispatcher', A);
    f.isReplay('life-preserver', B);
    f.subscribed(['dispatcher', 'life-preserver']);
    f.empty('dispatcher');
    assert.equal(f.isReplay('dispatcher', A), false, 'after "" the next event is new');
    assert.equal(f.isReplay('life-preserver', B), true);
  });

  it('never takes an event too deep to serialise for a replay', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const f = new ReplayFilter();
    f.isReplay('system-state', { deep });
    f.subscribed(['system-state']);
    assert.equal(f.isReplay('system-state', { deep }), false);
  });
});
