import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { HttpClient } from '../../src/net/http.js';
import { cookiesFrom, cookieValues } from '../../src/net/cookies.js';
import { AuthError, RateLimited, RetryableError } from '../../src/net/errors.js';

// The shared HTTP client: sources' REST calls (`call`) next to the sinks' `post`, against a local server.

let server: Server;
let base = '';
const seen: { method: string; type: string | undefined; body: string }[] = [];

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', type: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
      const path = req.url ?? '';
      if (path === '/login') {
        res.writeHead(200, { 'Set-Cookie': ['JSESSIONID=abc123def; Path=/; HttpOnly', 'other=x1y2z3'], 'Content-Type': 'application/json' }).end('{"ok":true}');
      } else if (path === '/refused') res.writeHead(401).end('no');
      else if (path === '/slow-down') res.writeHead(429, { 'Retry-After': '20' }).end();
      else if (path === '/huge') res.writeHead(200).end('x'.repeat(200 * 1024));
      else if (path === '/hang') setTimeout(() => res.writeHead(200).end(), 5000).unref();
      else res.writeHead(200).end('fine');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('net/http: a source\'s REST call', () => {
  const http = new HttpClient();
  after(() => http.close());

  it('sends any method with a JSON or text body and hands back the headers, Set-Cookie included', async () => {
    const r = await http.call({ method: 'PUT', url: `${base}/login`, json: { user: 'u' }, timeoutMs: 2000, what: 'the login' });
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"ok":true}');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(seen.at(-1), { method: 'PUT', type: 'application/json', body: '{"user":"u"}' });
    assert.equal(cookiesFrom(r.setCookie, 'JSESSIONID'), 'JSESSIONID=abc123def');
    assert.equal(cookiesFrom(r.setCookie), 'JSESSIONID=abc123def; other=x1y2z3');
    assert.deepEqual(cookieValues('JSESSIONID=abc123def; other=x1y2z3'), ['abc123def', 'x1y2z3']);
    await http.call({ url: `${base}/text`, body: 'hello', timeoutMs: 2000, what: 'a call' });
    assert.deepEqual(seen.at(-1), { method: 'POST', type: 'text/plain', body: 'hello' });
    await http.call({ url: `${base}/get`, timeoutMs: 2000, what: 'a call' });
    assert.equal(seen.at(-1)!.method, 'GET');
  });

  it('with source semantics, 401/403 is an AuthError and 429 a RateLimited carrying Retry-After', async () => {
    await assert.rejects(http.call({ url: `${base}/refused`, timeoutMs: 2000, what: 'the login', sourceSemantics: true }), (e) => e instanceof AuthError && e.status === 401);
    await assert.rejects(http.call({ url: `${base}/slow-down`, timeoutMs: 2000, what: 'the login', sourceSemantics: true }), (e) => e instanceof RateLimited && e.retryAfterMs === 20_000);
    const plain = await http.call({ url: `${base}/refused`, timeoutMs: 2000, what: 'the login' });
    assert.equal(plain.status, 401, 'without them the answer is handed back');
  });

  it('keeps at most 64 KiB of an answer and says it cut it', async () => {
    const r = await http.call({ url: `${base}/huge`, timeoutMs: 5000, what: 'a call' });
    assert.equal(r.text.length, 64 * 1024);
    assert.equal(r.truncated, true);
  });

  it('gives up after its own time limit with an error naming the call', async () => {
    await assert.rejects(http.call({ url: `${base}/hang`, timeoutMs: 200, what: 'the snapshot' }), /the snapshot: no answer within 200 ms/);
  });
});

describe('net/http: the sinks\' post stays as it was', () => {
  it('answers status, ok, text and Retry-After only, and makes a dead peer retryable', async () => {
    const http = new HttpClient();
    try {
      const a = await http.post(`${base}/slow-down`, 'x', {}, 2000, new AbortController().signal, 'otlp');
      assert.deepEqual(a, { status: 429, ok: false, text: '', retryAfterMs: 20_000 });
      await assert.rejects(http.post('http://127.0.0.1:1/x', 'x', {}, 2000, new AbortController().signal, 'otlp'), (e) => e instanceof RetryableError && /^otlp: /.test(e.message));
    } finally {
      http.close();
    }
  });
});
