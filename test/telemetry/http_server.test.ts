import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { LISTENER_LIMITS } from '../../src/telemetry/http_server.js';
import { Gauge } from 'prom-client';
import { registry } from '../../src/telemetry/metrics.js';
import { forgetSecret, registerSecret } from '../../src/telemetry/logger.js';
import { Listener } from '../helpers/listener.js';

// Issue 12: the listener (/metrics, /readyz, /tap) must not be a way to hurt the data path. Each limit
// is shown acting on a misbehaving client; small limits are passed in where the daemon's defaults would
// take seconds. Pass or fail never depends on how long anything took.

const listener = new Listener();
const server = () => listener.server!;

afterEach(() => listener.close());

/** Replaces the registry's render by one that counts its calls (and waits for `gate`, when given). */
function countRenders(gate?: Promise<void>): { renders: () => number; restore: () => void } {
  let renders = 0;
  const real = registry.metrics.bind(registry);
  registry.metrics = async () => {
    renders++;
    await gate;
    return real();
  };
  return { renders: () => renders, restore: () => (registry.metrics = real) };
}

/** Resolves once the server has accepted `n` connections, with their server-side sockets. */
function accepted(n: number): Promise<Socket[]> {
  const got: Socket[] = [];
  return new Promise((resolve) => server().on('connection', (s: Socket) => got.push(s) === n && resolve(got)));
}

describe('the HTTP listener cannot hurt the data path', () => {
  it('serves at most 8 tap clients at once and refuses the next with 503', async () => {
    await listener.start();
    const open: Response[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(listener.url('/tap'));
      assert.equal(res.status, 200);
      open.push(res);
    }
    const ninth = await fetch(listener.url('/tap'));
    assert.equal(ninth.status, 503);
    await ninth.text();
    for (const res of open) await res.body?.cancel();
  });

  it('drops connections beyond its cap at accept, so a flood of clients holds bounded memory', async () => {
    await listener.start();
    let accepted = 0;
    server().on('connection', () => accepted++);
    const cap = server().maxConnections;
    assert.ok(Number.isFinite(cap) && cap > 0 && cap <= 1024, `maxConnections is ${cap}`);
    for (let i = 0; i < cap; i++) listener.raw();
    await new Promise<void>((resolve) => {
      const check = () => (accepted >= cap ? resolve() : setImmediate(check));
      check();
    });
    const extra = listener.raw('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await extra.answer, '', 'the connection over the cap is closed without an answer');
  });

  it('refuses connections beyond the cap while a scrape on a held connection is still answered, and admits again once one leaves', async () => {
    const cap = 4;
    await listener.start(undefined, { maxConnections: cap });
    const held = accepted(cap);
    const idle = Array.from({ length: cap - 1 }, () => listener.raw());
    const scraper = listener.raw();
    const serverSide = await held;

    const dropped = once(server(), 'drop');
    const extra = listener.raw('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await dropped;
    assert.equal(await extra.answer, '', 'the connection over the cap is closed without an answer');

    let scraped = '';
    scraper.socket.on('data', (d: Buffer) => (scraped += d.toString()));
    scraper.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => scraper.socket.on('data', () => scraped.includes('ws2otel_tap_lines_dropped_total') && resolve()));
    assert.match(scraped, /^HTTP\/1\.1 200 /, 'the scrape on a held connection is answered');

    // One idle client leaves: its slot is free again (the cap bounds what is held, it is no lockout).
    const left = once(serverSide[0]!, 'close');
    idle[0]!.socket.destroy();
    await left;
    const res = await fetch(listener.url('/metrics'));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ws2otel_tap_lines_dropped_total/);
  });

  it('cuts off a client that sends half a request head once the headers timeout passes, answering 408', async () => {
    // The whole-request limit is far beyond the test: only the headers timeout can cut this client off.
    await listener.start(undefined, { headersTimeoutMs: 200, requestTimeoutMs: 3_600_000, checkIntervalMs: 50 });
    const slow = listener.raw('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    // A client that finishes its head on time is served meanwhile.
    const res = await fetch(listener.url('/healthz'));
    assert.equal(res.status, 200);
    await res.text();
    const answer = await slow.answer;
    assert.match(answer, /^HTTP\/1\.1 408 /, 'closed with 408 Request Timeout');
    assert.doesNotMatch(answer, /ws2otel_/, 'the half request was never served');
  });

  it('closes a kept-alive connection that stays idle past the keep-alive timeout, after answering it', async () => {
    await listener.start(undefined, { keepAliveTimeoutMs: 100, checkIntervalMs: 50 });
    const client = listener.raw('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await client.answer; // resolves only when the server closes the connection
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /Keep-Alive: timeout=/i, 'the connection was kept alive first');
    assert.equal(answer.match(/HTTP\/1\.1 /g)!.length, 1);
  });

  it('shares one /metrics render among all the scrapes that arrive while it runs', async () => {
    await listener.start();
    let release!: () => void;
    const counter = countRenders(new Promise<void>((r) => (release = r)));
    try {
      let arrived = 0;
      const all = new Promise<void>((resolve) => server().on('request', (req) => req.url === '/metrics' && ++arrived === 40 && resolve()));
      const scrapes = Array.from({ length: 40 }, () => fetch(listener.url('/metrics')).then((r) => r.text()));
      await all;
      release();
      const bodies = await Promise.all(scrapes);
      assert.ok(bodies.every((b) => b.includes('ws2otel_tap_lines_dropped_total')));
      assert.equal(counter.renders(), 1);
    } finally {
      counter.restore();
    }
  });

  it('answers every scrape inside the reuse window from one render, and renders again for each scrape once the window is gone', async () => {
    const scrape = () => fetch(listener.url('/metrics')).then(async (r) => (assert.equal(r.status, 200), r.text()));
    // A window longer than the test: 10 scrapes one after another, then 30 at once, all inside it.
    await listener.start(undefined, { metricsReuseMs: 3_600_000 });
    let counter = countRenders();
    try {
      for (let i = 0; i < 10; i++) assert.match(await scrape(), /ws2otel_tap_lines_dropped_total/);
      await Promise.all(Array.from({ length: 30 }, scrape));
      assert.equal(counter.renders(), 1, '40 scrapes inside the window cost one render');
    } finally {
      counter.restore();
    }
    await listener.close();
    // No window: the count above is the sharing's doing, not a render that is never called.
    await listener.start(undefined, { metricsReuseMs: 0 });
    counter = countRenders();
    try {
      for (let i = 0; i < 5; i++) await scrape();
      assert.equal(counter.renders(), 5);
    } finally {
      counter.restore();
    }
  });

  it('scrubs registered secrets from /metrics as from every other output', async () => {
    const secret = 'metrics-label-secret-5c2a';
    registerSecret(secret);
    const gauge = new Gauge({ name: 'ws2otel_test_scrub_probe', help: 'a label that carries a secret', labelNames: ['detail'], registers: [registry] });
    try {
      gauge.set({ detail: `peer said ${secret}` }, 1);
      await listener.start();
      const text = await (await fetch(listener.url('/metrics'))).text();
      assert.match(text, /ws2otel_test_scrub_probe\{detail="peer said \[REDACTED\]"\} 1/);
      assert.ok(!text.includes(secret));
    } finally {
      registry.removeSingleMetric('ws2otel_test_scrub_probe');
      forgetSecret(secret);
    }
  });

  it('gives request heads and whole requests a time limit (slow clients cannot hold sockets forever)', async () => {
    await listener.start();
    assert.ok(server().headersTimeout > 0 && server().headersTimeout <= 60_000, `headersTimeout ${server().headersTimeout}`);
    assert.ok(server().requestTimeout > 0 && server().requestTimeout <= 60_000, `requestTimeout ${server().requestTimeout}`);
  });

  it('runs with the documented defaults unless told otherwise', async () => {
    await listener.start();
    assert.equal(server().maxConnections, LISTENER_LIMITS.maxConnections);
    assert.equal(server().headersTimeout, LISTENER_LIMITS.headersTimeoutMs);
    assert.equal(server().requestTimeout, LISTENER_LIMITS.requestTimeoutMs);
    assert.equal(server().keepAliveTimeout, LISTENER_LIMITS.keepAliveTimeoutMs);
    assert.deepEqual(LISTENER_LIMITS, { maxConnections: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 1_000, metricsReuseMs: 100 });
  });
});
