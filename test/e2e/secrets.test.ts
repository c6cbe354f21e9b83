import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CLI, DaemonProcess } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { simulators } from '../../src/simulators/index.js';

// Issue 12, item 1: a full daemon with a secret in every secret-bearing key, against sinks that echo
// the request (headers and all) back in their error bodies. No secret may appear in any log line, dead
// letter, /readyz answer or tap line.

const SECRETS = {
  mist_token: 'mist-token-7f3a9c01',
  smc_api_key: 'smc-api-key-wrong-5b2e',
  nxapi_password: 'nxapi-pass-c41d88',
  sysadm_password: 'sysadm-pass-93aa10',
  sink_bearer: 'sink-bearer-0d9e7b44',
  sink_api_key: 'sink-x-api-key-61f2',
  file_header: 'file-header-secret-a7c3',
} as const;

const WEBSOCKET_EXAMPLE = fileURLToPath(new URL('../../../config/examples/websocket.yaml', import.meta.url));

async function startSim(vendor: string, over: Record<string, string> = {}) {
  const spec = simulators[vendor]!;
  const defaults = Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, o.default]));
  return spec.start({ ...defaults, port: '0', ...over });
}

/** An OTLP endpoint that refuses every request and echoes its headers back in the error body. */
function echoServer(status: number): Promise<{ url: string; server: Server; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    req.resume();
    req.on('end', () => {
      // The credential alone first (as a server checking `Bearer <token>` might name it), then every header.
      const credential = String(req.headers.authorization ?? '').split(' ').pop();
      const body = `refused ${req.url}: bad credential ${credential}; you sent ${JSON.stringify(req.headers)}`;
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Retry-After': '0' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${addr.port}`, server, requests: () => n });
  }));
}

describe('secrets never leak, whatever the peers echo', () => {
  const stops: (() => Promise<void>)[] = [];
  let daemon: DaemonProcess;
  let reject: Awaited<ReturnType<typeof echoServer>>;
  let busy: Awaited<ReturnType<typeof echoServer>>;
  const outputs: Record<string, string> = {};
  let dataDir = '';

  before(async () => {
    const [mist, smc, nxapi, sysadm] = await Promise.all([
      startSim('mist', { token: SECRETS.mist_token, 'interval-ms': '100', 'events-ms': '300' }),
      startSim('smc', { 'status-ms': '300' }),
      startSim('nxapi', { password: SECRETS.nxapi_password, 'interval-ms': '200' }),
      startSim('sysadm', { password: SECRETS.sysadm_password, 'system-state-ms': '300' }),
    ]);
    for (const s of [mist, smc, nxapi, sysadm]) stops.push(() => s!.stop());
    reject = await echoServer(400);
    busy = await echoServer(503);
    for (const s of [reject, busy]) stops.push(() => new Promise((r) => s.server.close(() => r())));

    const generic = (parse(readFileSync(WEBSOCKET_EXAMPLE, 'utf8')) as { sources: Record<string, unknown>[] }).sources[0]!;
    const site = 'c1947558-268d-4d31-9a4e-0123456789ab';
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-secrets-'));
    dataDir = join(dir, 'data');
    const headersFile = join(dir, 'headers.yaml');
    writeFileSync(headersFile, `X-File-Secret: ${SECRETS.file_header}\n`);
    const sinkCommon = { batch: { max_events: 20, timeout: '100ms' }, retry: { initial_interval: '50ms', max_interval: '200ms' } };
    daemon = new DaemonProcess({
      log_level: 'debug',
      data_dir: dataDir,
      http: { tap: true },
      sources: [
        { name: 'mist', type: 'mist', url: mist!.url, token: SECRETS.mist_token, channels: [`/sites/${site}/stats/devices`, `/sites/${site}/devices`] },
        { ...generic, name: 'generic', url: mist!.url, headers: { Authorization: `Token ${SECRETS.mist_token}` }, messages: [{ subscribe: `/sites/${site}/stats/devices` }] },
        { name: 'smc', type: 'smc', url: smc!.url, api_key: SECRETS.smc_api_key, contexts: ['*'], reconnect: { initial_interval: '100ms', max_interval: '300ms' } },
        { name: 'nxapi', type: 'nxapi', url: nxapi!.url, username: 'admin', password: SECRETS.nxapi_password, queries: ['/api/class/rmonIfIn.json'] },
        { name: 'sysadm', type: 'sysadm', url: sysadm!.url, username: 'monitor', password: SECRETS.sysadm_password, events: ['system-state'], tls: { insecure_skip_verify: true } },
      ],
      sinks: [
        { name: 'reject', type: 'otlp_http', endpoint: reject.url, encoding: 'json', headers: { Authorization: `Bearer ${SECRETS.sink_bearer}`, 'X-Api-Key': SECRETS.sink_api_key }, ...sinkCommon },
        { name: 'busy', type: 'otlp_http', endpoint: busy.url, headers_file: headersFile, ...sinkCommon, buffer: { max_events: 100_000, when_full: 'drop_newest' } },
      ],
    });
    await daemon.start();
    stops.unshift(async () => void (await daemon.stop()));
  });

  after(async () => {
    for (const stop of stops) await stop();
  });

  it('runs every source and both echoing sinks long enough to fail in every way', async () => {
    const tap = await fetch(`http://127.0.0.1:${daemon.httpPort}/tap`);
    const reader = tap.body!.getReader();
    let tapText = '';
    await waitFor('tap lines of mist, nxapi and sysadm', async () => {
      const { value } = await reader.read();
      tapText += Buffer.from(value ?? new Uint8Array()).toString();
      return ['"source":"mist"', '"source":"nxapi"', '"source":"sysadm"', '"source":"generic"'].every((s) => tapText.includes(s));
    }, 60_000, 0);
    await reader.cancel();
    outputs.tap = tapText;
    await waitFor('the rejecting sink to dead-letter and the busy one to retry', async () =>
      (await daemon.metric('ws2otel_sink_dead_lettered_total', { sink: 'reject' })) > 0 &&
      (await daemon.metric('ws2otel_sink_retries_total', { sink: 'busy' })) > 2 &&
      (await daemon.metric('ws2otel_source_auth_failures_total', { source: 'smc' })) >= 1, 60_000);
    const readyz = await fetch(`http://127.0.0.1:${daemon.httpPort}/readyz`);
    outputs.readyz = await readyz.text();
    assert.match(outputs.readyz, /HTTP 503 refused/, 'the busy sink\'s echoed error is on /readyz (scrubbed)');
    assert.equal(await daemon.stop(), 0);
    outputs.logs = daemon.stdout + daemon.stderr;
    const dl = join(dataDir, 'dead_letter');
    outputs.dead_letters = existsSync(dl) ? readdirSync(dl).map((f) => readFileSync(join(dl, f), 'utf8')).join('') : '';
    assert.ok(outputs.dead_letters.includes('HTTP 400 refused'), 'the echoed error is in the dead letters');
    assert.ok(outputs.logs.includes('[REDACTED]'), 'the echoed headers were scrubbed, not absent');
    assert.ok(reject.requests() > 0 && busy.requests() > 0);
  });

  it('refuses URL user-info at validate without echoing the password (the chosen handling)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-userinfo-'));
    const file = join(dir, 'c.yaml');
    const password = 'url-password-4e1b7d';
    writeFileSync(file, `sources:\n  - {name: m, type: mist, url: "wss://u:${password}@127.0.0.1/x", token: abcd1234, channels: ["/sites/s/stats/devices"]}\n` +
      `sinks:\n  - {name: o, type: otlp_http, endpoint: "http://admin:${password}@127.0.0.1:4318"}\n`);
    for (const cmd of ['validate', 'run']) {
      const r = spawnSync(process.execPath, [CLI, cmd, '--config', file], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 1, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /sinks\[0\]\.endpoint: must not carry credentials/);
      assert.match(r.stderr, /sources\[0\]\.url: must not carry credentials/);
      assert.ok(!(r.stdout + r.stderr).includes(password), `${cmd} echoed the password`);
    }
  });

  for (const where of ['logs', 'dead_letters', 'readyz', 'tap']) {
    it(`finds no secret in ${where.replace('_', ' ')}`, () => {
      const text = outputs[where];
      assert.ok(text && text.length > 0, `${where} was collected`);
      for (const [key, secret] of Object.entries(SECRETS)) assert.ok(!text.includes(secret), `${key} leaked into ${where}`);
    });
  }
});
