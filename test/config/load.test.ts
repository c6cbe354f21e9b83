import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

const SITE = '/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices';

function good(): Record<string, any> {
  return {
    sources: [{ name: 'm', type: 'mist', token: 'tok-123456', channels: [SITE] }],
    sinks: [{ name: 'o', type: 'otlp_http', endpoint: 'http://127.0.0.1:4318' }],
  };
}

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    buildConfig(doc, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('config was accepted');
}

describe('config loading', () => {
  it('accepts a minimal config and fills every default', () => {
    const c = buildConfig(good(), {});
    assert.equal(c.log_level, 'info');
    assert.equal(c.http.address, '127.0.0.1:8686');
    assert.equal(c.shutdown_grace, 10_000);
    const src = c.sources[0]!.config as any;
    assert.equal(src.url, 'wss://api-ws.mist.com/api-ws/v1/stream');
    assert.equal(src.keepalive.interval, 60_000);
    assert.equal(src.keepalive.timeout, 45_000);
    const sink = c.sinks[0]!.config as any;
    assert.equal(sink.encoding, 'proto');
    assert.equal(sink.compression, 'gzip');
    assert.equal(sink.batch.timeout, 200);
    assert.equal(sink.buffer.when_full, 'block');
  });

  it('names the key path of an empty channel list', () => {
    const doc = good();
    doc.sources[0].channels = [];
    assert.deepEqual(problems(doc), ['sources[0].channels: must be a non-empty list']);
  });

  it('names unknown types, unknown keys, bad enums and bad durations', () => {
    const doc = good();
    doc.sources.push({ name: 'x', type: 'nope' });
    doc.sources[0].colour = 'blue';
    doc.sinks[0].encoding = 'xml';
    doc.sinks[0].batch = { timeout: 'soon' };
    const p = problems(doc);
    assert.ok(p.some((l) => l.startsWith('sources[1].type: unknown type "nope"')), p.join('\n'));
    assert.ok(p.includes('sources[0].colour: unknown key'), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('sinks[0].encoding: must be one of')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('sinks[0].batch.timeout: must be a duration')), p.join('\n'));
  });

  it('requires sources and sinks, unique names and known inputs', () => {
    assert.ok(problems({ sinks: good().sinks }).includes('sources: must be a non-empty list'));
    const doc = good();
    doc.sources.push({ ...doc.sources[0] });
    doc.sinks[0].inputs = ['m', 'ghost'];
    const p = problems(doc);
    assert.ok(p.includes('sources[1].name: "m" is used twice'), p.join('\n'));
    assert.ok(p.includes('sinks[0].inputs[1]: no source is named "ghost"'), p.join('\n'));
  });

  it('substitutes ${VAR} and ${VAR:-default}, and names the key of a missing variable', () => {
    const doc = good();
    doc.sources[0].token = '${MIST_TOKEN}';
    doc.sinks[0].endpoint = '${OTLP:-http://collector:4318}';
    const c = buildConfig(doc, { MIST_TOKEN: 'from-env-123' });
    assert.equal((c.sources[0]!.config as any).token, 'from-env-123');
    assert.equal((c.sinks[0]!.config as any).endpoint, 'http://collector:4318');
    assert.deepEqual(problems(doc, {}), ['sources[0].token: environment variable MIST_TOKEN is not set']);
  });

  it('reads a secret from token_file, trimming the trailing newline, and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-cfg-'));
    writeFileSync(join(dir, 'token'), 'file-token-xyz\n');
    const doc = good();
    delete doc.sources[0].token;
    doc.sources[0].token_file = join(dir, 'token');
    assert.equal((buildConfig(doc, {}).sources[0]!.config as any).token, 'file-token-xyz');

    const both = good();
    both.sources[0].token_file = join(dir, 'token');
    assert.deepEqual(problems(both), ['sources[0].token: give either token or token_file, not both']);

    const missing = good();
    delete missing.sources[0].token;
    missing.sources[0].token_file = join(dir, 'absent');
    assert.deepEqual(problems(missing), [`sources[0].token_file: cannot read ${join(dir, 'absent')}: ENOENT`]);
  });

  it('requires the token and never echoes a secret in an error', () => {
    const doc = good();
    delete doc.sources[0].token;
    assert.deepEqual(problems(doc), ['sources[0].token: is required']);
    const bad = good();
    bad.sources[0].token = 'super-secret-value';
    bad.sources[0].channels = 'nope';
    assert.ok(!problems(bad).join('\n').includes('super-secret-value'));
  });

  it('validates metric override rules with their index', () => {
    const doc = good();
    doc.sources[0].metrics = [{ path: 'uptime', metric: 'x.uptime', type: 'histogram' }, { path: 'radio_stat.*.power', metric: 'p' }];
    const p = problems(doc).join('\n');
    assert.match(p, /^sources\[0\]\.metrics: \[0\]\.type: must be one of gauge, counter, updown; \[1\]\.key_attribute: required/);
  });

  it('keeps dotted resource attribute names as data', () => {
    const doc = good();
    doc.sources[0].resource = { 'deployment.environment.name': 'prod' };
    assert.deepEqual((buildConfig(doc, {}).sources[0]!.config as any).resource, { 'deployment.environment.name': 'prod' });
  });

  it('reads YAML and JSON files and takes daemon settings from WS2OTEL_* variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-cfg-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify(good()));
    writeFileSync(join(dir, 'c.yaml'), `log_level: debug\nsources:\n  - {name: m, type: mist, token: abcd1234, channels: ["${SITE}"]}\nsinks:\n  - {name: f, type: file, path: "-"}\n`);
    assert.equal(loadConfig(join(dir, 'c.json'), { WS2OTEL_LOG_LEVEL: 'warn' }).log_level, 'warn');
    assert.equal(loadConfig(join(dir, 'c.yaml'), {}).log_level, 'debug');
    writeFileSync(join(dir, 'bad.yaml'), 'sources: [\n');
    assert.throws(() => loadConfig(join(dir, 'bad.yaml'), {}), /bad\.yaml: not valid YAML/);
  });

  it('refuses a YAML alias that contains itself with a ConfigError naming the key, not a stack overflow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-cfg-'));
    writeFileSync(join(dir, 'list.yaml'), 'sources: &a [ *a ]\nsinks: []\n');
    writeFileSync(join(dir, 'map.yaml'), `sources:\n  - {name: m, type: mist, token: abcd1234, channels: ["${SITE}"], resource: &r {x: *r}}\nsinks:\n  - {name: f, type: file, path: "-"}\n`);
    for (const [file, at] of [['list.yaml', 'sources[0]'], ['map.yaml', 'sources[0].resource.x']] as const) {
      assert.throws(() => loadConfig(join(dir, file), {}), (err: unknown) =>
        err instanceof ConfigError && err.problems.some((p) => p.startsWith(`${at}: a value that contains itself`)), file);
    }
  });

  it('accepts the shipped demo config', () => {
    const demo = new URL('../../../config/demo.yaml', import.meta.url).pathname;
    assert.equal(loadConfig(demo, {}).sources[0]!.config.type, 'mist');
  });
});
