import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePath, getPath, select, splitPath } from '../../src/mapping/path.js';

describe('mapping/path: the one dotted-path walker', () => {
  it('walks objects by key and arrays by numeric segment', () => {
    const doc = { imdata: [{ attributes: { dn: 'sys/intf' } }], a: { b: 0 } };
    assert.equal(getPath(doc, splitPath('imdata.0.attributes.dn')), 'sys/intf');
    assert.equal(getPath(doc, splitPath('a.b')), 0);
    assert.equal(getPath(doc, splitPath('imdata.1.attributes')), undefined);
    assert.equal(getPath(doc, splitPath('a.b.c')), undefined);
    assert.equal(getPath(doc, splitPath('')), doc, 'the empty path is the value itself');
  });

  it('never reaches the prototype: constructor, __proto__ and toString are not fields', () => {
    const doc = JSON.parse('{"a":{}}') as unknown;
    assert.equal(getPath(doc, splitPath('a.constructor')), undefined);
    assert.equal(getPath(doc, splitPath('a.__proto__')), undefined);
    assert.equal(getPath(doc, splitPath('a.toString')), undefined);
    assert.equal(getPath([1, 2], splitPath('length')), 2, 'own properties still are');
  });

  /** What `select` visits, in order. */
  const selected = (doc: unknown, path: string) => {
    const out: { key: string | undefined; value: unknown }[] = [];
    select(doc, compilePath(path), (key, value) => out.push({ key, value }) > 0);
    return out;
  };

  it('fans one * segment out over object keys and array indexes, with the key', () => {
    const doc = { radios: { band_24: { clients: 3 }, band_5: { clients: 7 }, bad: 1 }, list: [{ v: 1 }, { v: 2 }] };
    assert.deepEqual(selected(doc, 'radios.*.clients'), [
      { key: 'band_24', value: 3 }, { key: 'band_5', value: 7 }, { key: 'bad', value: undefined },
    ]);
    assert.deepEqual(selected(doc, 'list.*.v'), [{ key: '0', value: 1 }, { key: '1', value: 2 }]);
    assert.deepEqual(selected(doc, 'radios.band_5.clients'), [{ key: undefined, value: 7 }]);
    assert.deepEqual(selected(doc, 'nothing.*.x'), []);
  });

  it('lets a capped caller stop a fan-out over 100,000 keys early', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) wide[`k${i}`] = i;
    let steps = 0;
    select({ wide }, compilePath('wide.*'), () => ++steps < 10);
    assert.equal(steps, 10);
  });
});
