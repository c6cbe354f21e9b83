import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { SplunkHecSink, hecErrorText } from '../../../src/sinks/splunk_hec/sink.js';
import { splunkHecSink } from '../../../src/sinks/splunk_hec/sink.js';
import { PermanentError, RetryableError } from '../../../src/sinks/sink.js';
import { defaultTls } from '../../../src/net/tls.js';
import type { SplunkHecConfig } from '../../../src/sinks/splunk_hec/config.js';
import { validateComponent } from '../../../src/config/component.js';
import { scrub } from '../../../src/telemetry/logger.js';
import { Points, type Envelope } from '../../../src/model.js';
import { requestOf, selfMetric, sendEnvelopes, silentLog } from '../../helpers/capture.js';
import { waitFor } from '../../helpers/net.js';
import { SinkExporter, createBuffer } from '../../../src/pipeline/exporter.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

// The HEC sink against a plain HTTP server that answers as HEC would: which answers are retried and
// which are final (with HEC's error text), the request and indexer-acknowledgement shapes (the
// Collector's receiver acknowledges only with an extension the test Collector does not have), and
// how a batch larger than one request is split and resumed. What a real HEC server makes of the
// events is proven in test/e2e/splunk_hec_collector.test.ts.

const TOKEN = '11111111-2222-3333-4444-555555555555';

function envelope(i: number): Envelope {
  return {
    source: 's', resource: { 'device.name': `ap-${i}` }, scope: { name: 'ws2otel/test', version: '0' }, receivedMs: 0,
    metrics: Points.of([{ name: 'm.value', unit: '1', description: '', kind: 'gauge', int: false, value: i + 0.5, timeMs: 1_700_000_000_123, startTimeMs: 0, attributes: { k: 'v' } }]),
    logs: [{ timeMs: 1_700_000_000_456, observedMs: 0, severityNumber: 13, severityText: 'WARN', body: `event ${i}`, attributes: {} }],
  };
}

interface Seen { url: string; headers: IncomingMessage['headers']; body: string }
type Answer = { status: number; body?: string; headers?: Record<string, string> };

describe('Splunk HEC sink', () => {
  let server: Server;
  let port = 0;
  const seen: Seen[] = [];
  let answer: (s: Seen) => Answer = () => ({ status: 200, body: '{"text":"Success","code":0}' });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
        const s = { url: req.url ?? '', headers: req.headers, body };
        seen.push(s);
        const a = answer(s);
        res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers }).end(a.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function config(over: Partial<SplunkHecConfig> = {}): SplunkHecConfig {
    return {
      name: 'hec', type: 'splunk_hec', inputs: [], endpoint: `http://127.0.0.1:${port}/`, token: TOKEN,
      index: '', metrics_index: '', source: '', sourcetype: '', host: '', compression: 'gzip', max_request_bytes: 2 * 1024 * 1024,
      timeout: 5000, ack: false, ack_poll_interval: 10, ack_timeout: 5000, tls: defaultTls(),
      batch: { max_events: 10, timeout: 1 }, buffer: { type: 'memory', max_events: 10, max_bytes: 0, when_full: 'block', fsync: 1000 },
      retry: { initial_interval: 1, max_interval: 1, max_elapsed_time: 0 }, ...over,
    };
  }

  function sink(over: Partial<SplunkHecConfig> = {}) {
    return new SplunkHecSink(config(over), { log: silentLog });
  }

  const events = (s: Seen) => s.body.split('\n').map((l) => JSON.parse(l) as Record<string, any>);

  it('posts one gzip request of concatenated events to /services/collector/event with Authorization: Splunk <token>', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: '{"text":"Success","code":0}' });
    await sendEnvelopes(sink(), [envelope(0), envelope(1)], new AbortController().signal);
    assert.equal(seen.length, 1);
    const s = seen[0]!;
    assert.equal(s.url, '/services/collector/event');
    assert.equal(s.headers.authorization, `Splunk ${TOKEN}`);
    assert.equal(s.headers['content-encoding'], 'gzip');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['x-splunk-request-channel'], undefined, 'no channel without ack');
    const ev = events(s);
    assert.deepEqual(ev.map((e) => e.event), ['metric', 'event 0', 'metric', 'event 1']);
    assert.deepEqual(ev[0], { time: 1_700_000_000.123, host: 'ap-0', event: 'metric', fields: { 'device.name': 'ap-0', k: 'v', metric_type: 'Gauge', 'metric_name:m.value': 0.5 } });
  });

  it('sends the body uncompressed with compression: none', async () => {
    seen.length = 0;
    await sendEnvelopes(sink({ compression: 'none' }), [envelope(0)], new AbortController().signal);
    assert.equal(seen[0]!.headers['content-encoding'], undefined);
    assert.equal(events(seen[0]!).length, 2);
  });

  for (const [status, body] of [[503, '{"text":"Server is busy","code":9}'], [429, ''], [500, '{"text":"Internal server error","code":8}'], [502, 'bad gateway']] as const) {
    it(`retries HTTP ${status} with HEC's text in the error`, async () => {
      answer = () => ({ status, body });
      const err = await sendEnvelopes(sink(), [envelope(0)], new AbortController().signal).catch((e: unknown) => e);
      assert.ok(err instanceof RetryableError, String(err));
      assert.match(err.message, new RegExp(`HTTP ${status}`));
      if (status === 503) assert.match(err.message, /Server is busy \(code 9\)/);
    });
  }

  it("honours a 503's Retry-After", async () => {
    answer = () => ({ status: 503, body: '{"text":"Server is busy","code":9}', headers: { 'Retry-After': '7' } });
    const err = await sendEnvelopes(sink(), [envelope(0)], new AbortController().signal).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError);
    assert.equal(err.retryAfterMs, 7000);
  });

  for (const [status, body, text] of [
    [400, '{"text":"Incorrect index","code":7,"invalid-event-number":0}', 'Incorrect index (code 7)'],
    [401, '{"text":"Token is required","code":2}', 'Token is required (code 2)'],
    [403, '{"text":"Invalid token","code":4}', 'Invalid token (code 4)'],
  ] as const) {
    it(`refuses the batch for good on HTTP ${status}, saying "${text}"`, async () => {
      answer = () => ({ status, body });
      const err = await sendEnvelopes(sink(), [envelope(0)], new AbortController().signal).catch((e: unknown) => e);
      assert.ok(err instanceof PermanentError, String(err));
      assert.equal(err.message, `HEC: HTTP ${status} ${text}`);
      assert.ok(!err.message.includes(TOKEN));
    });
  }

  it('makes a refused connection retryable', async () => {
    const closed = sink({ endpoint: 'http://127.0.0.1:9' });
    const err = await sendEnvelopes(closed, [envelope(0)], new AbortController().signal).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError, String(err));
  });

  it('splits a batch into requests of at most max_request_bytes and resumes a retry after the accepted ones', async () => {
    seen.length = 0;
    const s = sink({ max_request_bytes: 1024 });
    const batch = requestOf(s, Array.from({ length: 10 }, (_, i) => envelope(i)));
    let calls = 0;
    // The third request fails once: the retry must not send the first two again.
    answer = () => (++calls === 3 ? { status: 503, body: '{"text":"Server is busy","code":9}' } : { status: 200, body: '{"text":"Success","code":0}' });
    const err = await s.send(batch, new AbortController().signal).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError);
    await s.send(batch, new AbortController().signal);
    for (const x of seen) assert.ok(Buffer.byteLength(x.body) <= 1024, `request of ${Buffer.byteLength(x.body)} bytes`);
    const delivered = seen.filter((_, i) => i !== 2).flatMap(events);
    assert.deepEqual(delivered.filter((e) => e.event !== 'metric').map((e) => e.event), batch.items.map((_, i) => `event ${i}`), 'every record once, in order');
    assert.equal(delivered.filter((e) => e.event === 'metric').length, 10);
    assert.ok(seen.length > 3);
  });

  it('with ack: true sends a channel, polls /services/collector/ack until every ackId is acknowledged', async () => {
    seen.length = 0;
    let nextAck = 0;
    let polls = 0;
    answer = (s) => {
      if (s.url === '/services/collector/event') return { status: 200, body: JSON.stringify({ text: 'Success', code: 0, ackId: nextAck++ }) };
      // First poll: nothing indexed yet; second: the first request; then both.
      const asked = (JSON.parse(s.body) as { acks: number[] }).acks;
      polls++;
      const acks = Object.fromEntries(asked.map((id) => [String(id), polls > 2 || (polls === 2 && id === 0)]));
      return { status: 200, body: JSON.stringify({ acks }) };
    };
    const s = sink({ ack: true, max_request_bytes: 1024 });
    await sendEnvelopes(s, [envelope(0), envelope(1), envelope(2), envelope(3)], new AbortController().signal);
    const posts = seen.filter((x) => x.url === '/services/collector/event');
    const ackPolls = seen.filter((x) => x.url === '/services/collector/ack');
    assert.equal(posts.length, 2);
    assert.equal(ackPolls.length, 3);
    assert.match(s.channel, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (const x of seen) {
      assert.equal(x.headers['x-splunk-request-channel'], s.channel);
      assert.equal(x.headers.authorization, `Splunk ${TOKEN}`);
    }
    assert.equal(ackPolls[0]!.headers['content-encoding'], undefined);
    assert.deepEqual(ackPolls.map((x) => JSON.parse(x.body)), [{ acks: [0, 1] }, { acks: [0, 1] }, { acks: [1] }]);
  });

  it('with ack: true, sends again what was not acknowledged within ack_timeout, and only that', async () => {
    seen.length = 0;
    let nextAck = 0;
    const acked = new Set<number>([0]); // the first request's id is acknowledged, the second's never
    answer = (s) => {
      if (s.url === '/services/collector/event') return { status: 200, body: JSON.stringify({ text: 'Success', code: 0, ackId: nextAck++ }) };
      const asked = (JSON.parse(s.body) as { acks: number[] }).acks;
      return { status: 200, body: JSON.stringify({ acks: Object.fromEntries(asked.map((id) => [String(id), acked.has(id)])) }) };
    };
    const s = sink({ ack: true, max_request_bytes: 1024, ack_poll_interval: 5, ack_timeout: 20 });
    const batch = requestOf(s, [envelope(0), envelope(1), envelope(2), envelope(3)]);
    const err = await s.send(batch, new AbortController().signal).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError, String(err));
    assert.match(err.message, /1 of 2 request\(s\) not acknowledged/);
    const firstPosts = seen.filter((x) => x.url === '/services/collector/event').map((x) => x.body);
    seen.length = 0;
    acked.add(2); // the resent request's new id is acknowledged
    await s.send(batch, new AbortController().signal);
    const resent = seen.filter((x) => x.url === '/services/collector/event').map((x) => x.body);
    assert.deepEqual(resent, [firstPosts[1]], 'only the unacknowledged request is sent again');
  });

  it('with ack: true, takes HTTP 200 without an ackId (ack off for the token) as delivered', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: '{"text":"Success","code":0}' });
    await sendEnvelopes(sink({ ack: true }), [envelope(0)], new AbortController().signal);
    assert.deepEqual(seen.map((x) => x.url), ['/services/collector/event']);
  });

  it('reads HEC error bodies, and other bodies cut to 200 characters like every peer text', () => {
    assert.equal(hecErrorText('{"text":"Server is busy","code":9}'), 'Server is busy (code 9)');
    assert.equal(hecErrorText('<html>\n<body>Bad Gateway</body></html>'), '<html> <body>Bad Gateway</body></html>');
    assert.equal(hecErrorText('x'.repeat(1000)), `${'x'.repeat(200)}…`);
  });

  it('config: token or token_file is required, the token is registered for redaction, defaults as documented', async () => {
    const missing = validateComponent(splunkHecSink, { name: 'h', type: 'splunk_hec' }, 'sinks[0]');
    assert.ok(missing.problems.includes('sinks[0].token: is required'), missing.problems.join('; '));
    const secret = 'hec-secret-for-redaction-0001';
    const ok = validateComponent(splunkHecSink, { name: 'h', type: 'splunk_hec', token: secret }, 'sinks[0]');
    assert.deepEqual(ok.problems, []);
    const c = ok.config!;
    assert.equal(c.endpoint, 'https://127.0.0.1:8088');
    assert.equal(c.compression, 'gzip');
    assert.equal(c.max_request_bytes, 2 * 1024 * 1024);
    assert.equal(c.timeout, 10_000);
    assert.equal(c.ack, false);
    assert.equal(c.ack_poll_interval, 1000);
    assert.equal(c.ack_timeout, 60_000);
    assert.equal(scrub(`token is ${secret}`).includes(secret), false);
    const bad = validateComponent(splunkHecSink, { name: 'h', type: 'splunk_hec', token: 'a b', max_request_bytes: 10, ack: true, ack_poll_interval: '5s', ack_timeout: '1s' }, 'sinks[0]');
    assert.deepEqual(bad.problems.sort(), [
      'sinks[0].ack_timeout: must be at least ack_poll_interval',
      'sinks[0].max_request_bytes: must be at least 1024',
      'sinks[0].token: must not contain whitespace',
    ]);
  });

  describe('through the pipeline', () => {
    const DATA = mkdtempSync(join(tmpdir(), 'ws2otel-hec-'));

    function exporter(name: string, lines: string[]) {
      const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
      const c = config({ name });
      return new SinkExporter(new SplunkHecSink(c, { log }), c, log, createBuffer(c, DATA, log), DATA);
    }

    it('retries 503 "Server is busy" until HEC takes the batch, and delivers it once', async () => {
      seen.length = 0;
      let busy = 2;
      answer = () => (busy-- > 0 ? { status: 503, body: '{"text":"Server is busy","code":9}' } : { status: 200, body: '{"text":"Success","code":0}' });
      const lines: string[] = [];
      const e = exporter('hec-busy', lines);
      for (let i = 0; i < 3; i++) e.offer(envelope(i));
      await waitFor('the batch accepted', async () => (await selfMetric('eventsSent', { sink: 'hec-busy' })) === 3);
      assert.equal(seen.length, 3, 'two refused attempts, one accepted');
      assert.equal(await selfMetric('retries', { sink: 'hec-busy' }), 2);
      assert.ok(lines.some((l) => l.includes('Server is busy (code 9)')), 'the retry log line says why');
      await e.flush(Date.now() + 1000);
    });

    it('dead-letters a batch HEC refuses with 403, logging HEC\'s text and never the token', async () => {
      seen.length = 0;
      answer = () => ({ status: 403, body: '{"text":"Invalid token","code":4}' });
      const lines: string[] = [];
      const e = exporter('hec-denied', lines);
      e.offer(envelope(0));
      await waitFor('the batch refused', async () => (await selfMetric('deadLettered', { sink: 'hec-denied' })) === 1);
      assert.equal(seen.length, 1, 'not retried');
      const refused = lines.find((l) => l.includes('refused by the sink'));
      assert.ok(refused);
      assert.match(refused, /HEC: HTTP 403 Invalid token \(code 4\)/);
      const dead = readFileSync(join(DATA, 'dead_letter', 'hec-denied.jsonl'), 'utf8');
      for (const text of [...lines, dead]) assert.ok(!text.includes(TOKEN), 'token leaked');
      await e.flush(Date.now() + 1000);
    });
  });
});
