import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/daemon.js';
import { freePort, waitFor } from '../helpers/net.js';

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
