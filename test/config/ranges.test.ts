import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { CLI } from '../helpers/daemon.js';

// Issue 12, item 3: each config here was said to be valid and then ran away, crashed or misbehaved.
// Validation must refuse it, naming the key.

const SITE = '/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices';

function good(): Record<string, any> {
  return {
    sources: [{ name: 'm', type: 'mist', token: 'tok-123456', channels: [SITE] }],
    sinks: [{ name: 'o', type: 'otlp_http', endpoint: 'http://127.0.0.1:4318' }],
  };
}

function problems(doc: unknown): string[] {
  try {
    buildConfig(doc, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('config was accepted');
}

function hasProblem(doc: unknown, prefix: string): void {
  const p = problems(doc);
  assert.ok(p.some((l) => l.startsWith(prefix)), `expected a problem starting with ${prefix}, got:\n${p.join('\n')}`);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ws2otel-ranges-'));
}

describe('validate refuses what cannot run', () => {
  it('refuses batch.max_events: 0 (a busy loop that starved the event loop)', () => {
    const doc = good();
    doc.sinks[0].batch = { max_events: 0 };
    hasProblem(doc, 'sinks[0].batch.max_events: must be at least 1');
  });

  it('refuses buffer.max_events: 0', () => {
    const doc = good();
    doc.sinks[0].buffer = { max_events: 0 };
    hasProblem(doc, 'sinks[0].buffer.max_events: must be at least 1');
  });

  it('refuses any duration above 2^31-1 ms, which a Node timer fires after 1 ms', () => {
    for (const [where, set] of [
      ['shutdown_grace', (d: any) => (d.shutdown_grace = '1000h')],
      ['sinks[0].batch.timeout', (d: any) => (d.sinks[0].batch = { timeout: '1000h' })],
      ['sinks[0].timeout', (d: any) => (d.sinks[0].timeout = '1000h')],
      ['sinks[0].retry.max_interval', (d: any) => (d.sinks[0].retry = { max_interval: '1000h' })],
      ['sinks[0].buffer.fsync', (d: any) => (d.sinks[0].buffer = { fsync: '1000h' })],
      ['sources[0].keepalive.interval', (d: any) => (d.sources[0].keepalive = { interval: '1000h' })],
      ['sources[0].reconnect.max_interval', (d: any) => (d.sources[0].reconnect = { max_interval: '1000h' })],
    ] as const) {
      const doc = good();
      set(doc);
      hasProblem(doc, `${where}: must be at most 2147483647 ms`);
    }
    const ok = good();
    ok.shutdown_grace = '596h'; // 2,145,600,000 ms: the largest whole number of hours that fits
    assert.equal(buildConfig(ok, {}).shutdown_grace, 596 * 3_600_000);
  });

  it('refuses keepalive.interval: 0 and keepalive.timeout: 0 (pings nonstop)', () => {
    const doc = good();
    doc.sources[0].keepalive = { interval: 0, timeout: 0 };
    const p = problems(doc);
    assert.ok(p.includes('sources[0].keepalive.interval: must be at least 100 ms'), p.join('\n'));
    assert.ok(p.includes('sources[0].keepalive.timeout: must be at least 100 ms'), p.join('\n'));
  });

  it('refuses reconnect intervals of 0 (thousands of upgrade attempts a second against a 401)', () => {
    const doc = good();
    doc.sources[0].reconnect = { initial_interval: 0, max_interval: 0 };
    hasProblem(doc, 'sources[0].reconnect.initial_interval: must be at least 50 ms');
    const inverted = good();
    inverted.sources[0].reconnect = { initial_interval: '10s', max_interval: '1s' };
    hasProblem(inverted, 'sources[0].reconnect.max_interval: must not be below reconnect.initial_interval');
  });

  it('refuses sink retry intervals of 0 and a zero request timeout', () => {
    const doc = good();
    doc.sinks[0].retry = { initial_interval: 0, max_interval: 0 };
    doc.sinks[0].timeout = 0;
    hasProblem(doc, 'sinks[0].retry.initial_interval: must be at least 10 ms');
    hasProblem(doc, 'sinks[0].timeout: must be at least 100 ms');
  });

  it('refuses zero request timeouts of the Kafka sink and the NX-API source', () => {
    const doc = good();
    doc.sinks.push({ name: 'k', type: 'kafka', brokers: ['127.0.0.1:9092'], timeout: 0 });
    doc.sources.push({ name: 'n', type: 'nxapi', url: 'https://127.0.0.1', username: 'a', password: 'secret-pw', queries: ['/api/class/x.json'], request_timeout: 0 });
    hasProblem(doc, 'sinks[1].timeout: must be at least 100 ms');
    hasProblem(doc, 'sources[1].request_timeout: must be at least 100 ms');
  });

  it('refuses max_frame_bytes: 0, which the ws library reads as unlimited', () => {
    const doc = good();
    doc.sources[0].max_frame_bytes = 0;
    hasProblem(doc, 'sources[0].max_frame_bytes: must be between 1024 and 2147483647');
  });

  it('refuses a websocket heartbeat faster than 100 ms and longer than a timer can wait', () => {
    const base = { name: 'w', type: 'websocket', url: 'ws://127.0.0.1:1/x', frames: { metrics: { when: { path: 'type', equals: 'm' } } } };
    for (const interval of ['1ms', '1000h']) {
      const doc = good();
      doc.sources = [{ ...base, heartbeat: { message: 'ping', interval } }];
      hasProblem(doc, 'sources[0].heartbeat.interval: must be between 100 ms and 2147483647 ms');
    }
  });

  it('parses http.address: a port that is not a number is named at validate', () => {
    for (const address of ['127.0.0.1:notaport', '127.0.0.1:70000', 'localhost', '::1:8686']) {
      const doc = good();
      doc.http = { address };
      hasProblem(doc, 'http.address: ');
    }
    for (const address of ['127.0.0.1:0', '[::1]:8686', 'localhost:9000', ':8686', '']) {
      const doc = good();
      doc.http = { address };
      assert.equal(buildConfig(doc, {}).http.address, address);
    }
  });

  it('parses metrics_endpoint and logs_endpoint as URLs (http://[::1 passed before)', () => {
    const doc = good();
    doc.sinks[0].logs_endpoint = 'http://[::1';
    doc.sinks[0].metrics_endpoint = 'ftp://x/';
    hasProblem(doc, 'sinks[0].logs_endpoint: must be an http:// or https:// URL');
    hasProblem(doc, 'sinks[0].metrics_endpoint: must be an http:// or https:// URL');
  });

  it('refuses credentials in a URL (user:password@), which would be printed wherever the URL is', () => {
    const doc = good();
    doc.sinks[0].endpoint = 'http://admin:pass@127.0.0.1:4318';
    doc.sinks[0].logs_endpoint = 'https://admin:pass@127.0.0.1:4318/v1/logs';
    doc.sources[0].url = 'wss://user:pw@api-ws.mist.com/api-ws/v1/stream';
    const p = problems(doc);
    for (const key of ['sinks[0].endpoint', 'sinks[0].logs_endpoint', 'sources[0].url']) {
      assert.ok(p.includes(`${key}: must not carry credentials (user:password@): give them as a header or the token/password key`), p.join('\n'));
    }
    assert.ok(!p.join('\n').includes('pass@'), 'the credential is not echoed');
  });

  it('refuses a disk buffer whose data_dir cannot be written, naming the key', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    const doc = good();
    doc.data_dir = join(dir, 'file', 'state'); // under a regular file: ENOTDIR, whoever runs it
    doc.sinks[0].buffer = { type: 'disk' };
    hasProblem(doc, 'sinks[0].buffer.type: a disk buffer needs a writable data_dir');
    const mem = good();
    mem.data_dir = join(dir, 'file', 'state');
    assert.ok(buildConfig(mem, {}), 'a memory buffer does not need data_dir');
    const fresh = good();
    fresh.data_dir = join(dir, 'not', 'yet');
    fresh.sinks[0].buffer = { type: 'disk' };
    assert.ok(buildConfig(fresh, {}), 'a data_dir that can be created is fine');
  });

  it('refuses a file sink whose directory does not exist, naming sinks[i].path', () => {
    const dir = tmp();
    const doc = good();
    doc.sinks = [{ name: 'f', type: 'file', path: join(dir, 'missing', 'out.jsonl') }];
    hasProblem(doc, `sinks[0].path: cannot write ${join(dir, 'missing', 'out.jsonl')}`);
    doc.sinks[0].path = join(dir, 'out.jsonl');
    assert.ok(buildConfig(doc, {}));
  });

  it('reads headers_file as a YAML or JSON map', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'h.yaml'), 'Authorization: Bearer from-yaml-file\nX-Api-Key: k-123456\n');
    writeFileSync(join(dir, 'h.json'), JSON.stringify({ 'X-Api-Key': 'from-json-file' }));
    writeFileSync(join(dir, 'bad'), '- a list\n- not a map\n');
    const doc = good();
    doc.sinks[0].headers_file = join(dir, 'h.yaml');
    assert.deepEqual((buildConfig(doc, {}).sinks[0]!.config as any).headers, { Authorization: 'Bearer from-yaml-file', 'X-Api-Key': 'k-123456' });
    doc.sinks[0].headers_file = join(dir, 'h.json');
    assert.deepEqual((buildConfig(doc, {}).sinks[0]!.config as any).headers, { 'X-Api-Key': 'from-json-file' });
    doc.sinks[0].headers_file = join(dir, 'bad');
    hasProblem(doc, 'sinks[0].headers: must be a map');
  });

  it('refuses subscribe_timeout, resubscribe_interval and up_interval outside their ranges, naming the key', () => {
    for (const [key, value, message] of [
      ['subscribe_timeout', '10ms', 'must be between 1000 ms and 3600000 ms'],
      ['subscribe_timeout', '2h', 'must be between 1000 ms and 3600000 ms'],
      ['resubscribe_interval', '1s', 'must be between 5000 ms and 1800000 ms'],
      ['resubscribe_interval', '1h', 'must be between 5000 ms and 1800000 ms'],
      ['up_interval', '10ms', 'must be between 1000 ms and 3600000 ms'],
    ] as const) {
      const doc = good();
      doc.sources[0][key] = value;
      hasProblem(doc, `sources[0].${key}: ${message}`);
    }
    const ok = good();
    Object.assign(ok.sources[0], { subscribe_timeout: '30s', resubscribe_interval: '1m', up_interval: '60s' });
    buildConfig(ok, {});
  });

  it('refuses __proto__, constructor and prototype keys in a JSON or YAML config', () => {
    const dir = tmp();
    const json = JSON.stringify(good()).replace('"name":"o"', '"name":"o","headers":{"__proto__":{"polluted":"yes"}}');
    writeFileSync(join(dir, 'c.json'), json);
    assert.throws(() => loadConfig(join(dir, 'c.json'), {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.some((p) => p.startsWith('sinks[0].headers.__proto__: key not allowed')), err.problems.join('\n'));
      return true;
    });
    assert.equal(({} as any).polluted, undefined);
    writeFileSync(join(dir, 'c.yaml'), `sources:\n  - {name: m, type: mist, token: abcd1234, channels: ["${SITE}"], resource: {constructor: x}}\nsinks:\n  - {name: f, type: file, path: "-"}\n`);
    assert.throws(() => loadConfig(join(dir, 'c.yaml'), {}), /sources\[0\]\.resource\.constructor: key not allowed/);
  });

  it('run names the key of a listen address it cannot use instead of printing a stack trace', () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `http: {address: "127.0.0.1:notaport"}\nsources:\n  - {name: m, type: mist, url: "ws://127.0.0.1:1/x", token: abcd1234, channels: ["${SITE}"]}\nsinks:\n  - {name: f, type: file, path: "${join(dir, 'out')}"}\n`);
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /http\.address: port "notaport" must be a number/);
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
  });
});
