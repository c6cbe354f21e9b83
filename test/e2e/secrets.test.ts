import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CLI } from '../helpers/daemon.js';
import { pipeline, simulated, type Started } from '../helpers/e2e.js';
import { HandedOut } from '../helpers/handed_out.js';
import { freePort, waitFor } from '../helpers/net.js';
import { GenericSimulator } from '../../src/simulators/websocket.js';
import { sourceFactories } from '../../src/sources/index.js';
import { sinkFactories } from '../../src/sinks/index.js';
import { secretKeys } from '../../src/config/component.js';

// Issue 12: a full daemon with a secret in every secret-bearing key (every `sensitive` key of every
// source and sink type, every header value of sources, login requests and sinks), against sinks that
// echo the request (headers and all) back in their error bodies, and sources that hand out session
// cookies and tokens at run time. No secret, configured or learnt, may appear in any log line, dead
// letter, /readyz or /metrics answer, or in what a tap client connected through the run receives.

const SECRETS = {
  mist_token: 'mist-token-7f3a9c01',
  smc_api_key: 'smc-api-key-wrong-5b2e',
  smc_api_key_ok: 'smc-api-key-good-8c1f',
  nxapi_password: 'nxapi-pass-c41d88',
  sysadm_password: 'sysadm-pass-93aa10',
  sysadm_token: 'sysadm-token-wrong-17bd',
  websocket_password: 'lab-pass-2d7e61',
  websocket_token: 'lab-static-token-wrong-c3d9',
  websocket_header: 'lab-header-key-90b3',
  login_header: 'lab-login-key-47aa',
  sink_bearer: 'sink-bearer-0d9e7b44',
  sink_api_key: 'sink-x-api-key-61f2',
  file_header: 'file-header-secret-a7c3',
  hec_token: 'hec-token-3e5f0b9d',
  kafka_password: 'kafka-sasl-pass-6a1c',
} as const;

// Each kind of credential the simulators hand out must have been handed out (and so learnt) in the run.
const LEARNT_KINDS = ['cookie JSESSIONID', 'cookie APIC-cookie', 'cookie SESSION', 'json token', 'sysadm token'];

const WEBSOCKET_EXAMPLE = fileURLToPath(new URL('../../../config/examples/websocket.yaml', import.meta.url));
const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';

/** A sink endpoint that refuses every request and echoes its headers back in the error body. */
function echoServer(status: number): Started & { url: string; requests: () => number } {
  let n = 0;
  let server: Server | undefined;
  const echo = {
    url: '',
    requests: () => n,
    async start() {
      server = createServer((req, res) => {
        n++;
        req.resume();
        req.on('end', () => {
          // The credential alone first (as a server checking `Bearer <token>` might name it), then every header.
          const credential = String(req.headers.authorization ?? '').split(' ').pop();
          const body = `refused ${req.url}: bad credential ${credential}; you sent ${JSON.stringify(req.headers)}`;
          res.writeHead(status, { 'Content-Type': 'text/plain', 'Retry-After': '0' }).end(body);
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
      echo.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    stop: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  return echo;
}

/** A tap client for the whole run: keeps every byte until the daemon ends the stream. */
function tapClient(port: number): { text: () => string; ended: Promise<void> } {
  let text = '';
  const ended = (async () => {
    const res = await fetch(`http://127.0.0.1:${port}/tap`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString();
      }
    } catch {
      // the daemon closed the connection as it stopped: what came before is all there is
    }
  })();
  return { text: () => text, ended };
}

describe('secrets never leak, whatever the peers echo', () => {
  const handedOut = new HandedOut();
  const learning: Started = { start: async () => handedOut.start(), stop: async () => handedOut.stop() };
  const mist = simulated('mist', { token: SECRETS.mist_token, 'interval-ms': '100', 'events-ms': '300' });
  const smc = simulated('smc', { 'api-key': SECRETS.smc_api_key_ok, 'status-ms': '300' });
  const nxapi = simulated('nxapi', { password: SECRETS.nxapi_password, 'interval-ms': '200' });
  const sysadm = simulated('sysadm', { password: SECRETS.sysadm_password, 'system-state-ms': '300' });
  // Its own server: the refused token counts toward a lockout of the address, which must not block `sysadm`.
  const sysadmRefusing = simulated('sysadm', { password: SECRETS.sysadm_password });
  const lab = new GenericSimulator({ username: 'svc', password: SECRETS.websocket_password, auth: 'bearer', intervalMs: 200 });
  const reject = echoServer(400);
  const busy = echoServer(503);
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-secrets-'));
  const dataDir = join(dir, 'data');
  const headersFile = join(dir, 'headers.yaml');
  writeFileSync(headersFile, `X-File-Secret: ${SECRETS.file_header}\n`);
  let kafkaPort = 0;
  const closedPort: Started = { start: async () => (kafkaPort = await freePort()), stop: async () => undefined };

  let config: { sources: Record<string, unknown>[]; sinks: Record<string, unknown>[]; [key: string]: unknown } | undefined;
  const e2e = pipeline({
    collector: false,
    sims: [learning, mist, smc, nxapi, sysadm, sysadmRefusing, lab, reject, busy, closedPort],
    config: () => {
      const generic = (parse(readFileSync(WEBSOCKET_EXAMPLE, 'utf8')) as { sources: Record<string, unknown>[] }).sources[0]!;
      const sinkCommon = { batch: { max_events: 20, timeout: '100ms' }, retry: { initial_interval: '50ms', max_interval: '200ms' } };
      return config = {
        log_level: 'debug',
        data_dir: dataDir,
        http: { tap: true },
        sources: [
          {
            name: 'mist', type: 'mist', url: mist.url, token: SECRETS.mist_token, channels: [`/sites/${SITE}/stats/devices`, `/sites/${SITE}/devices`],
            // A secret that slipped into the data (a vendor echoing it, a user pasting it into an attribute):
            // every envelope of this source carries it, so tap lines and dead letters must scrub it by value.
            resource: { 'test.echo': `echoed ${SECRETS.mist_token}` },
          },
          {
            // Logs in to the lab for a session token and subscribes with it: the Mist simulator echoes the
            // channel in every frame, so a credential learnt at run time rides in the data (mist.site.id)
            // to every output, as a vendor echoing a session id would make it.
            ...generic, name: 'generic', url: mist.url, headers: { Authorization: `Token ${SECRETS.mist_token}` },
            username: 'svc', password: SECRETS.websocket_password,
            login: { url: `${lab.base}/api/login`, body: { username: '{username}', password: '{password}' }, token_path: 'session.token' },
            messages: [{ subscribe: '/sites/{token}/stats/devices' }],
          },
          // A wrong API key (refused logins) and the right one (a session cookie handed out).
          { name: 'smc', type: 'smc', url: smc.url, api_key: SECRETS.smc_api_key, contexts: ['*'], reconnect: { initial_interval: '100ms', max_interval: '300ms' } },
          { name: 'smc-ok', type: 'smc', url: smc.url, api_key: SECRETS.smc_api_key_ok, contexts: ['*'] },
          { name: 'nxapi', type: 'nxapi', url: nxapi.url, username: 'admin', password: SECRETS.nxapi_password, queries: ['/api/class/rmonIfIn.json'] },
          { name: 'sysadm', type: 'sysadm', url: sysadm.url, username: 'monitor', password: SECRETS.sysadm_password, events: ['system-state'], tls: { insecure_skip_verify: true } },
          { name: 'sysadm-token', type: 'sysadm', url: sysadmRefusing.url, token: SECRETS.sysadm_token, events: ['system-state'], tls: { insecure_skip_verify: true } },
          {
            name: 'lab-token', type: 'websocket', url: lab.url, token: SECRETS.websocket_token, headers: { Authorization: 'Bearer {token}' },
            frames: { metrics: { when: { path: 'type', equals: 'metric' } } }, metrics: [{ path: 'payload.uptime_s', metric: 'lab.uptime', unit: 's', type: 'gauge' }],
          },
          {
            name: 'lab', type: 'websocket', url: lab.url, username: 'svc', password: SECRETS.websocket_password,
            login: { url: `${lab.base}/api/login`, headers: { 'X-Login-Key': SECRETS.login_header }, body: { username: '{username}', password: '{password}' }, token_path: 'session.token', cookie: 'SESSION' },
            headers: { Authorization: 'Bearer {token}', 'X-Lab-Key': SECRETS.websocket_header },
            messages: ['{"op":"subscribe","topics":["metrics","events"]}'],
            payload: { path: 'payload' },
            frames: {
              ready: { when: { path: 'type', equals: 'subscribed' } },
              ignore: { when: { path: 'type', equals: 'pong' } },
              metrics: { when: { path: 'type', equals: 'metric' }, time: { path: 'ts', unit: 'ms', from: 'frame' }, uptime: { path: 'uptime_s', unit: 's' } },
              logs: { when: { path: 'type', equals: 'event' }, time: { path: 'time', unit: 'iso8601' }, body_path: 'message' },
            },
            resource_attributes: [{ path: 'host', attribute: 'host.name' }],
            metrics: [{ path: 'uptime_s', metric: 'lab.uptime', unit: 's', type: 'gauge' }],
          },
        ],
        sinks: [
          { name: 'reject', type: 'otlp_http', endpoint: reject.url, encoding: 'json', headers: { Authorization: `Bearer ${SECRETS.sink_bearer}`, 'X-Api-Key': SECRETS.sink_api_key }, ...sinkCommon },
          { name: 'busy', type: 'otlp_http', endpoint: busy.url, headers_file: headersFile, ...sinkCommon, buffer: { max_events: 100_000, when_full: 'drop_newest' } },
          { name: 'hec', type: 'splunk_hec', endpoint: reject.url, token: SECRETS.hec_token, compression: 'none', ...sinkCommon },
          {
            name: 'kafka', type: 'kafka', brokers: [`127.0.0.1:${kafkaPort}`], sasl: { mechanism: 'plain', username: 'producer', password: SECRETS.kafka_password },
            ...sinkCommon, buffer: { max_events: 100_000, when_full: 'drop_newest' },
          },
        ],
      };
    },
  });
  const outputs: Record<string, string> = {};

  it('runs every source and every echoing sink long enough to fail in every way, a tap client reading throughout', async () => {
    const { daemon } = e2e;
    const tap = tapClient(daemon.httpPort);
    await waitFor('tap lines of every source that authenticates', () =>
      ['mist', 'generic', 'smc-ok', 'nxapi', 'sysadm', 'lab'].every((s) => tap.text().includes(`"source":"${s}"`)), 60_000);
    await waitFor('the rejecting sinks to dead-letter, the busy one to retry, SMC to refuse the wrong key', async () =>
      (await daemon.metric('ws2otel_sink_dead_lettered_total', { sink: 'reject' })) > 0 &&
      (await daemon.metric('ws2otel_sink_dead_lettered_total', { sink: 'hec' })) > 0 &&
      (await daemon.metric('ws2otel_sink_retries_total', { sink: 'busy' })) > 2 &&
      (await daemon.metric('ws2otel_sink_send_failures_total', { sink: 'kafka' })) > 0 &&
      (await daemon.metric('ws2otel_source_auth_failures_total', { source: 'smc' })) >= 1 &&
      (await daemon.metric('ws2otel_source_auth_failures_total', { source: 'sysadm-token' })) >= 1 &&
      (await daemon.metric('ws2otel_source_auth_failures_total', { source: 'lab-token' })) >= 1, 60_000);
    const kinds = handedOut.byKind();
    assert.deepEqual(LEARNT_KINDS.filter((k) => !kinds.get(k)?.size), [], `credentials handed out: ${[...kinds.keys()].join(', ')}`);

    const readyz = await fetch(`http://127.0.0.1:${daemon.httpPort}/readyz`);
    outputs.readyz = await readyz.text();
    assert.match(outputs.readyz, /HTTP 503 refused/, 'the busy sink\'s echoed error is on /readyz (scrubbed)');
    outputs.metrics = await daemon.metrics();
    assert.match(outputs.metrics, /ws2otel_sink_dead_lettered_total\{[^}]*sink="hec"/);

    assert.equal(await daemon.stop(), 0);
    await tap.ended;
    outputs.tap = tap.text();
    outputs.logs = daemon.stdout + daemon.stderr;
    const dl = join(dataDir, 'dead_letter');
    const files = existsSync(dl) ? readdirSync(dl) : [];
    assert.deepEqual(files.filter((f) => /^(reject|hec)\b/.test(f)).length, 2, `dead-letter files: ${files.join(', ')}`);
    outputs.dead_letters = files.map((f) => readFileSync(join(dl, f), 'utf8')).join('');
    assert.ok(outputs.dead_letters.includes('HTTP 400 refused'), 'the echoed error is in the dead letters');
    assert.ok(outputs.dead_letters.includes('echoed [REDACTED]'), 'the secret in the data was scrubbed in the dead letters, not absent');
    assert.ok(outputs.tap.includes('echoed [REDACTED]'), 'the secret in the data was scrubbed in the tap lines, not absent');
    assert.match(outputs.tap, /"source":"generic"[^\n]*"mist\.site\.id":"\[REDACTED\]"/, 'the learnt token in the data was scrubbed in the tap lines, not absent');
    assert.ok(outputs.logs.includes('[REDACTED]'), 'the echoed headers were scrubbed, not absent');
    assert.ok(reject.requests() > 0 && busy.requests() > 0);
  });

  it('sets every sensitive key of every source and sink type that has one', () => {
    assert.ok(config, 'the daemon ran');
    const missing: string[] = [];
    for (const [kind, factories, entries] of [['sources', sourceFactories, config.sources], ['sinks', sinkFactories, config.sinks]] as const) {
      for (const [type, factory] of Object.entries(factories)) {
        for (const key of secretKeys(factory.schema() as Record<string, unknown>)) {
          const set = entries.some((e) => {
            if (e.type !== type) return false;
            const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e);
            const file = key.split('.').reduce<unknown>((o, k, i, all) => (o as Record<string, unknown> | undefined)?.[i === all.length - 1 ? `${k}_file` : k], e);
            return (typeof v === 'string' && v !== '') || (typeof v === 'object' && v !== null && Object.keys(v).length > 0) || typeof file === 'string';
          });
          if (!set) missing.push(`${kind} ${type}: ${key}`);
        }
      }
    }
    assert.deepEqual(missing, []);
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

  for (const where of ['logs', 'dead_letters', 'readyz', 'metrics', 'tap']) {
    it(`finds no secret, configured or learnt, in ${where.replace('_', ' ')}`, () => {
      const text = outputs[where];
      assert.ok(text && text.length > 0, `${where} was collected`);
      const secrets: [string, string][] = [...Object.entries(SECRETS), ...handedOut.all().map((v): [string, string] => ['a credential handed out at run time', v])];
      for (const [key, secret] of secrets) {
        // As sent, and as it would stand in a URL.
        for (const form of new Set([secret, encodeURIComponent(secret)])) assert.ok(!text.includes(form), `${key} (${form}) leaked into ${where}`);
      }
    });
  }
});
