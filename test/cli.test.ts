import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './helpers/daemon.js';

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('ws2otel CLI', () => {
  it('prints the package version', () => {
    const r = cli('version');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('validate exits 0 on a good config', () => {
    const r = cli('validate', '--config', new URL('../../config/demo.yaml', import.meta.url).pathname);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /is valid: 4 source\(s\), 1 sink\(s\)/);
  });

  it('validate and run exit non-zero naming the bad key, before connecting anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'sources:',
      '  - {name: m, type: mist, token: the-secret-token, url: "ws://127.0.0.1:9/api-ws/v1/stream", channels: []}',
      'sinks:',
      '  - {name: o, type: otlp_http, endpoint: "ftp://nope"}',
    ].join('\n'));
    for (const cmd of ['validate', 'run']) {
      const r = cli(cmd, '--config', file);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /sources\[0\]\.channels: must be a non-empty list/);
      assert.match(r.stderr, /sinks\[0\]\.endpoint: must be an http:\/\/ or https:\/\/ URL/);
      assert.ok(!r.stderr.includes('the-secret-token') && !r.stdout.includes('the-secret-token'));
      assert.ok(!r.stdout.includes('socket open'), 'nothing connected');
    }
  });

  it('refuses an unknown command with usage', () => {
    const r = cli('frobnicate');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Usage:/);
  });
});
