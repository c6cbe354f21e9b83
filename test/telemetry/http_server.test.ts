import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { startHttpServer, type ReadinessReport } from '../../src/telemetry/http_server.js';
import { TapHub } from '../../src/telemetry/tap.js';
import { registry, selfMetrics } from '../../src/telemetry/metrics.js';
import type { Envelope } from '../../src/model.js';

// Issue 12, item 5: the listener (/metrics, /readyz, /tap) must not be a way to hurt the data path.

const log = pino({ level: 'silent' });
const ready = (): ReadinessReport => ({ ready: true, components: {} });
const env: Envelope = { source: 's', resource: {}, scope: { name: 't', version: '0' }, metrics: [], logs: [], receivedMs: 0 };

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function start(tap = new TapHub()): Promise<number> {
  server = await startHttpServer({ address: '127.0.0.1:0', tap: true, tap_remote: false }, ready, tap, log);
  return (server!.address() as AddressInfo).port;
}

/** A raw client: sends `request` (if any) and resolves with everything it got once the server closes it. */
function raw(port: number, request?: string): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString()));
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
  socket.on('error', () => undefined);
  if (request) socket.write(request);
  return { socket, answer };
}

describe('the HTTP listener cannot hurt the data path', () => {
  it('drops tap lines for a client that does not read, beyond 64 KiB per client, and counts them', async () => {
    const tap = new TapHub();
    let written = 0;
    const slow = { writableLength: 100 * 1024, write: () => void written++, on: () => undefined } as unknown as ServerResponse;
    tap.add('', slow);
    const before = (await selfMetrics.tapDropped.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 10; i++) tap.publish(env);
    assert.equal(written, 0, 'nothing more is queued for a client holding 100 KiB unsent');
    assert.equal(((await selfMetrics.tapDropped.get()).values[0]?.value ?? 0) - before, 10);
  });

  it('serves at most 8 tap clients at once and refuses the next with 503', async () => {
    const port = await start();
    const open: Response[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/tap`);
      assert.equal(res.status, 200);
      open.push(res);
    }
    const ninth = await fetch(`http://127.0.0.1:${port}/tap`);
    assert.equal(ninth.status, 503);
    await ninth.text();
    for (const res of open) await res.body?.cancel();
  });

  it('drops connections beyond its cap at accept, so a flood of clients holds bounded memory', async () => {
    const port = await start();
    let accepted = 0;
    server!.on('connection', () => accepted++);
    const cap = server!.maxConnections;
    assert.ok(Number.isFinite(cap) && cap > 0 && cap <= 1024, `maxConnections is ${cap}`);
    for (let i = 0; i < cap; i++) raw(port);
    await new Promise<void>((resolve) => {
      const check = () => (accepted >= cap ? resolve() : setImmediate(check));
      check();
    });
    const extra = raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await extra.answer, '', 'the connection over the cap is closed without an answer');
  });

  it('shares one /metrics render among all the scrapes that arrive while it runs', async () => {
    const port = await start();
    let renders = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = registry.metrics.bind(registry);
    registry.metrics = async () => {
      renders++;
      await gate;
      return real();
    };
    try {
      let arrived = 0;
      const all = new Promise<void>((resolve) => server!.on('request', (req) => req.url === '/metrics' && ++arrived === 40 && resolve()));
      const scrapes = Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()));
      await all;
      release();
      const bodies = await Promise.all(scrapes);
      assert.ok(bodies.every((b) => b.includes('ws2otel_tap_lines_dropped_total')));
      assert.equal(renders, 1);
    } finally {
      registry.metrics = real;
    }
  });

  it('gives request heads and whole requests a time limit (slow clients cannot hold sockets forever)', async () => {
    await start();
    assert.ok(server!.headersTimeout > 0 && server!.headersTimeout <= 60_000, `headersTimeout ${server!.headersTimeout}`);
    assert.ok(server!.requestTimeout > 0 && server!.requestTimeout <= 60_000, `requestTimeout ${server!.requestTimeout}`);
  });
});
