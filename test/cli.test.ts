import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './helpers/daemon.js';
import { freePort, waitFor } from './helpers/net.js';

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

// `npm start`: what a new user sees first. The debug sink's lines on stdout, one per point and per
// record; the daemon's JSON logs on stderr.
const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
const RESOURCE = String.raw`(?:"[^"]*"|\S+)`; // a name with spaces is quoted
const POINT_LINE = new RegExp(String.raw`^${TIME} ${RESOURCE} ([a-z][\w.]*)(\{.*\})? -?\d[\d.e+-]*( \S+)?$`);
const RECORD_LINE = new RegExp(String.raw`^${TIME} ${RESOURCE} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) .+$`);

describe('ws2otel demo (npm start)', () => {
  it('prints one readable line per point and per record of all four simulators on stdout, logs on stderr, exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [CLI, 'demo'], { env: { ...process.env, WS2OTEL_HTTP_ADDRESS: `127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    const reap = () => proc.exitCode === null && proc.kill('SIGKILL');
    process.once('exit', reap);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const complete = () => stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
    const vendors = () => new Set(complete().map((l) => POINT_LINE.exec(l)?.[1]?.split('.')[0]).filter(Boolean));
    try {
      await waitFor('points of every vendor and a log record on stdout', () =>
        ['mist', 'smc', 'nxapi', 'sysadm'].every((v) => vendors().has(v)) && complete().some((l) => RECORD_LINE.test(l)), 40_000);
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr.slice(-2000));
    process.off('exit', reap);
    const lines = complete();
    for (const l of lines) assert.ok(POINT_LINE.test(l) || RECORD_LINE.test(l), `not a debug line: ${l}`);
    assert.ok(lines.some((l) => / mist\.device\.radio\.clients\{radio=band_\w+\} \d+ \{client\}$/.test(l)), 'a point with its attribute and unit');
    assert.ok(stderr.split('\n').some((l) => l.startsWith('{') && 'msg' in (JSON.parse(l) as object)), 'JSON logs on stderr');
  });
});
