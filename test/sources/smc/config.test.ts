import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { validateComponent } from '../../../src/config/component.js';
import { smcSource } from '../../../src/sources/smc/source.js';
import type { SmcConfig } from '../../../src/sources/smc/config.js';

const EXAMPLE = fileURLToPath(new URL('../../../../config/examples/smc.yaml', import.meta.url));

function problems(raw: Record<string, unknown>): string[] {
  return validateComponent(smcSource, { name: 's', type: 'smc', url: 'https://smc.example.com:8082', api_key: 'k-123456', ...raw }, 'sources[0]').problems;
}

describe('SMC source config', () => {
  it('loads config/examples/smc.yaml with the documented defaults', () => {
    const cfg = loadConfig(EXAMPLE, { SMC_API_KEY: 'example-key' });
    const smc = cfg.sources[0]!.config as SmcConfig;
    assert.equal(smc.type, 'smc');
    assert.deepEqual(smc.contexts, ['*']);
    assert.equal(smc.elements.length, 3);
    assert.equal(smc.notification_path, '/{version}/notification/socket');
    assert.equal(smc.status_path, '/{version}/status/socket');
    assert.equal(smc.api_version, '');
    assert.equal(smc.keepalive.interval, 30_000);
  });

  it('reports each mistake by its key path', () => {
    assert.deepEqual(problems({}), []);
    assert.deepEqual(problems({ contexts: [], elements: [] }), ['sources[0].contexts: nothing to subscribe (give contexts, elements or status_contexts)']);
    assert.deepEqual(problems({ elements: ['engine-1'] }), ['sources[0].elements[0]: must be an element href (http(s)://…/elements/…)']);
    assert.deepEqual(problems({ api_version: 'latest' }), ['sources[0].api_version: must look like 7.1 (or be empty to use the newest)']);
    assert.deepEqual(problems({ status_path: 'status/socket' }), ['sources[0].status_path: must start with /']);
    assert.ok(problems({ url: 'ws://smc:8082' }).some((p) => p.startsWith('sources[0].url')));
    assert.ok(problems({ api_key: '' }).some((p) => p.startsWith('sources[0].api_key')));
  });

  it('takes status_contexts as one element type each, and counts them as something to subscribe', () => {
    assert.deepEqual(problems({ contexts: [], status_contexts: ['fw_single', 'virtual_fw'] }), []);
    assert.deepEqual(problems({ status_contexts: ['fw_single, virtual_fw', ''] }), [
      'sources[0].status_contexts[0]: must be one element type such as fw_single or virtual_fw',
      'sources[0].status_contexts[1]: must be one element type such as fw_single or virtual_fw',
    ]);
    assert.deepEqual(problems({ status_contexts: [7] }), ['sources[0].status_contexts[0]: must be one element type such as fw_single or virtual_fw']);
    assert.deepEqual(problems({ status_contexts: Array.from({ length: 101 }, (_, i) => `t${i}`) }), ['sources[0].status_contexts: at most 100 element types']);
  });
});
