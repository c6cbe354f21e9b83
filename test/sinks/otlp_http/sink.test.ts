import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { OtlpHttpSink, parseRetryAfter } from '../../../src/sinks/otlp_http/sink.js';
import { PermanentError, RetryableError } from '../../../src/sinks/sink.js';
import type { OtlpHttpConfig } from '../../../src/sinks/otlp_http/config.js';
import { Points, type Envelope } from '../../../src/model.js';
import { requestOf, sendEnvelopes, silentLog } from '../../helpers/capture.js';
import { defaultTls } from '../../../src/net/tls.js';

// Status handling of the OTLP/HTTP sink, against a plain HTTP server that answers as told. What the
// real Collector accepts is proven in test/e2e; here: which answers are retried and which are final.

const env: Envelope = {
  source: 's', resource: { 'device.id': 'd1' }, scope: { name: 'ws2otel/test', version: '0' }, receivedMs: 0,
  metrics: Points.of([{ name: 'm', unit: '1', description: '', kind: 'gauge', int: false, value: 1.5, timeMs: 1000, startTimeMs: 1000, attributes: {} }]),
  logs: [{ timeMs: 1000, observedMs: 1000, severityNumber: 9, severityText: 'INFO', body: 'hi', attributes: {} }],
};

interface Seen { url: string; headers: IncomingMessage['headers']; body: Buffer }

describe('OTLP/HTTP sink', () => {
  let server: Server;
  let port = 0;
  const seen: Seen[] = [];
  let answer: (url: string) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const a = answer(req.url ?? '');
        res.writeHead(a.status, a.headers).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function sink(over: Partial<OtlpHttpConfig> = {}) {
    return new OtlpHttpSink({
      name: 'o', type: 'otlp_http', inputs: [], endpoint: `http://127.0.0.1:${port}`, metrics_endpoint: '', logs_endpoint: '',
      encoding: 'proto', compression: 'gzip', compression_level: 1, headers: { 'X-Api-Key': 'k' }, timeout: 5000,
      batch: { max_events: 1, timeout: 1 }, buffer: { type: 'memory', max_events: 1, max_bytes: 0, when_full: 'block', fsync: 1000 },
      retry: { initial_interval: 1, max_interval: 1, max_elapsed_time: 0 }, tls: defaultTls(), ...over,
    }, { log: silentLog });
  }

  it('posts gzip protobuf to /v1/metrics and /v1/logs with the configured headers', async () => {
    seen.length = 0;
    answer = () => ({ status: 200 });
    await sendEnvelopes(sink(), [env], new AbortController().signal);
    assert.deepEqual(seen.map((s) => s.url), ['/v1/metrics', '/v1/logs']);
    for (const s of seen) {
      assert.equal(s.headers['content-type'], 'application/x-protobuf');
      assert.equal(s.headers['content-encoding'], 'gzip');
      assert.equal(s.headers['x-api-key'], 'k');
      assert.ok(gunzipSync(s.body).length > 0);
    }
  });

  it('sends OTLP JSON uncompressed when asked', async () => {
    seen.length = 0;
    await sendEnvelopes(sink({ encoding: 'json', compression: 'none' }), [env], new AbortController().signal);
    const doc = JSON.parse(seen[0]!.body.toString());
    assert.equal(doc.resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble, 1.5);
    assert.equal(seen[0]!.headers['content-type'], 'application/json');
  });

  for (const status of [429, 502, 503, 504]) {
    it(`treats ${status} as retryable and carries Retry-After`, async () => {
      answer = () => ({ status, headers: { 'Retry-After': '3' } });
      const err = await sendEnvelopes(sink(), [env], new AbortController().signal).catch((e: unknown) => e);
      assert.ok(err instanceof RetryableError);
      assert.equal(err.retryAfterMs, 3000);
    });
  }

  for (const status of [400, 401, 403, 404, 413, 500]) {
    it(`treats ${status} as final`, async () => {
      answer = () => ({ status });
      const err = await sendEnvelopes(sink(), [env], new AbortController().signal).catch((e: unknown) => e);
      assert.ok(err instanceof PermanentError, String(err));
    });
  }

  it('treats a refused connection as retryable', async () => {
    const s = sink({ endpoint: 'http://127.0.0.1:1' });
    const err = await sendEnvelopes(s, [env], new AbortController().signal).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError, String(err));
  });

  it('on retry resends only the signal that was not accepted', async () => {
    seen.length = 0;
    let logsFail = true;
    answer = (url) => ({ status: url === '/v1/logs' && logsFail ? 503 : 200 });
    const s = sink();
    const batch = requestOf(s, [env]);
    await assert.rejects(s.send(batch, new AbortController().signal), RetryableError);
    logsFail = false;
    await s.send(batch, new AbortController().signal);
    assert.deepEqual(seen.map((x) => x.url), ['/v1/metrics', '/v1/logs', '/v1/logs']);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('120'), 120_000);
    assert.equal(parseRetryAfter(null), undefined);
    const d = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())!;
    assert.ok(d > 55_000 && d <= 60_000);
  });
});
