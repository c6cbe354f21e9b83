import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Points } from '../../src/model.js';
import { StateGauges, type StateSpec } from '../../src/mapping/states.js';

const HEALTH: StateSpec = { metric: 'pool.health', description: 'Pool health', values: ['ONLINE', 'DEGRADED', 'FAULTED'] };
const T = Date.UTC(2026, 0, 1);

function states(g: StateGauges, spec: StateSpec, key: string, current: string, attrs = {}): Record<string, number> {
  const out = new Points();
  g.points(spec, key, current, T, attrs, out);
  return Object.fromEntries(out.toArray().map((p) => [String(p.attributes[spec.attribute ?? 'state']), p.value]));
}

describe('mapping/states: one point per known state, 1 for the current one', () => {
  it('reports every documented state, the current at 1 and the others at 0', () => {
    const g = new StateGauges();
    assert.deepEqual(states(g, HEALTH, 'tank', 'DEGRADED'), { ONLINE: 0, DEGRADED: 1, FAULTED: 0 });
  });

  it('adds an unseen value to its key\'s set, and reports it 0 once it has passed, for that key only', () => {
    const g = new StateGauges();
    assert.deepEqual(states(g, HEALTH, 'tank', 'SUSPENDED'), { ONLINE: 0, DEGRADED: 0, FAULTED: 0, SUSPENDED: 1 });
    assert.deepEqual(states(g, HEALTH, 'tank', 'ONLINE'), { ONLINE: 1, DEGRADED: 0, FAULTED: 0, SUSPENDED: 0 });
    assert.deepEqual(states(g, HEALTH, 'other', 'ONLINE'), { ONLINE: 1, DEGRADED: 0, FAULTED: 0 });
  });

  it('keeps the state in the named attribute beside the given ones', () => {
    const out = new Points();
    new StateGauges().points({ ...HEALTH, attribute: 'policy' }, 'k', 'FAULTED', T, { 'pool.name': 'tank' }, out);
    assert.deepEqual(out.toArray().find((p) => p.value === 1)?.attributes, { 'pool.name': 'tank', policy: 'FAULTED' });
    assert.ok(out.toArray().every((p) => p.kind === 'gauge' && p.int && p.unit === '1' && p.timeMs === T));
  });

  it('stays bounded when a hostile field sends a new value every frame, and when keys keep coming', () => {
    const g = new StateGauges(100, 4);
    for (let i = 0; i < 1000; i++) states(g, HEALTH, 'tank', `junk-${i}`);
    const now = states(g, HEALTH, 'tank', 'junk-final');
    assert.equal(Object.keys(now).length, 3 + 4, 'documented states plus at most 4 undocumented');
    assert.equal(now['junk-final'], 1);
    for (let i = 0; i < 1000; i++) states(g, HEALTH, `key-${i}`, 'NEW');
    assert.ok(g.keys <= 100);
  });

  it('reports nothing for an empty value', () => {
    assert.deepEqual(states(new StateGauges(), HEALTH, 'k', ''), {});
  });
});
