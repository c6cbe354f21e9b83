import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mistSource } from '../../../src/sources/mist/source.js';
import { planChannels } from '../../../src/sources/mist/config.js';
import { validateComponent } from '../../../src/config/component.js';
import { sourceConfig } from '../../helpers/capture.js';

const SITE = '0d1f2e3c-1111-2222-3333-444455556666';

function problems(raw: Record<string, unknown>): string[] {
  return validateComponent(mistSource, { name: 'm', type: 'mist', token: 't', channels: [`/sites/${SITE}/stats/devices`], ...raw }, 'sources[0]').problems;
}

describe('Mist config', () => {
  it('subscribes a channel listed twice once, in first-given order, and says which were duplicated', () => {
    const a = `/sites/${SITE}/stats/devices`;
    const b = `/sites/${SITE}/devices`;
    const plan = planChannels([a, b, a, a, b]);
    assert.deepEqual(plan.channels, [a, b]);
    assert.deepEqual(plan.duplicates, [a, b]);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!, /2 listed more than once; each is subscribed once/);
  });

  it('warns above 1,500 channels on one connection and suggests another source entry', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `/sites/${SITE}/stats/maps/${i}/clients`);
    assert.deepEqual(planChannels(many(1500)).warnings, []);
    const w = planChannels(many(1501)).warnings;
    assert.equal(w.length, 1);
    assert.match(w[0]!, /1501 on one connection.*another source entry/);
  });

  it('counts the 2,000-channel limit after duplicates are folded', () => {
    const ch = Array.from({ length: 1990 }, (_, i) => `/sites/${SITE}/stats/maps/${i}/clients`);
    assert.deepEqual(problems({ channels: [...ch, ...ch.slice(0, 100)] }), []);
    const over = Array.from({ length: 2001 }, (_, i) => `/sites/${SITE}/stats/maps/${i}/clients`);
    assert.deepEqual(problems({ channels: over }), ['sources[0].channels: Mist allows at most 2000 channels per connection']);
  });

  it('takes kind_metrics per kind and names the key path of a bad kind or rule', () => {
    const cfg = sourceConfig(mistSource, { token: 't', channels: [`/sites/${SITE}/stats/clients`], kind_metrics: { clients: [{ path: 'rssi', metric: 'wifi.signal', unit: 'dBm' }] } });
    assert.deepEqual(cfg.kind_metrics.clients, [{ path: 'rssi', metric: 'wifi.signal', unit: 'dBm' }]);
    assert.deepEqual(problems({ kind_metrics: { beacons: [] } }), [
      'sources[0].kind_metrics.beacons: unknown kind (allowed: clients, mxedges, map_clients, unconnected_clients, sdkclients, assets, discovered_assets)',
    ]);
    assert.deepEqual(problems({ kind_metrics: { devices: [] } }), ['sources[0].kind_metrics.devices: the devices table is overridden by `metrics`']);
    assert.deepEqual(problems({ kind_metrics: { clients: [{ path: 'rssi', metric: '9bad' }] } }), [
      "sources[0].kind_metrics.clients[0].metric: must be a metric name (letters, digits, '.', '_', '-', '/')",
    ]);
    assert.deepEqual(problems({ kind_metrics: { assets: { path: 'rssi' } } }), ['sources[0].kind_metrics.assets: must be a list of {path, metric, unit, type} rules']);
    assert.deepEqual(problems({ kind_metrics: [] }), ['sources[0].kind_metrics: must be a map']);
  });
});
