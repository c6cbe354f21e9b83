import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TapHub } from '../../src/telemetry/tap.js';
import { Points, type Envelope } from '../../src/model.js';
import { selfMetric } from '../helpers/capture.js';
import { Listener } from '../helpers/listener.js';

// Issue 12: `/tap` drops events for a client that does not read, bounded per client and counted, so a
// tap client can never make the daemon hold memory for it.

const env: Envelope = { source: 's', resource: {}, scope: { name: 't', version: '0' }, metrics: new Points(), logs: [], receivedMs: 0 };
const listener = new Listener();

afterEach(() => listener.close());

describe('tap', () => {
  it('drops tap lines for a client that does not read, beyond 64 KiB per client, and counts them', async () => {
    const tap = new TapHub();
    let written = 0;
    const slow = { writableLength: 100 * 1024, write: () => void written++, on: () => undefined } as unknown as ServerResponse;
    tap.add('', slow);
    const before = await selfMetric('tapDropped');
    for (let i = 0; i < 10; i++) tap.publish(env);
    assert.equal(written, 0, 'nothing more is queued for a client holding 100 KiB unsent');
    assert.equal((await selfMetric('tapDropped')) - before, 10);
  });

  it('holds at most its bound queued for a real tap client that never reads while thousands of events pass, and counts every line it misses', async () => {
    const bound = 16 * 1024;
    const tap = new TapHub(8, bound);
    await listener.start(tap);
    const served = once(listener.server!, 'request') as Promise<[IncomingMessage, ServerResponse]>;
    const client = listener.raw('GET /tap HTTP/1.1\r\nHost: x\r\n\r\n');
    client.socket.pause(); // never reads: the kernel's buffers fill, then the daemon's side would
    const [, res] = await served;
    assert.equal(tap.clients, 1);

    // 4,000 events of about 4 KiB: some 16 MB, far more than the socket buffers take.
    const event = (i: number): Envelope => ({
      ...env, resource: { i },
      logs: [{ timeMs: i, observedMs: i, severityNumber: 9, severityText: 'INFO', body: 'x'.repeat(4000), attributes: {} }],
    });
    const events = 4000;
    const before = await selfMetric('tapDropped');
    let maxQueued = 0;
    for (let i = 0; i < events; i++) {
      tap.publish(event(i));
      maxQueued = Math.max(maxQueued, res.writableLength);
      // Let the socket move what it can to the kernel, as the daemon's event loop would between frames.
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    const dropped = (await selfMetric('tapDropped')) - before;
    assert.ok(maxQueued <= bound, `${maxQueued} bytes queued for one client, bound ${bound}`);
    assert.ok(dropped > 0, 'the client that never reads missed lines');

    // Now read everything the client was sent: each event was either sent to it or counted as dropped.
    tap.closeAll();
    client.socket.resume();
    let body = '';
    client.socket.on('data', (d: Buffer) => (body += d.toString()));
    await new Promise<void>((resolve) => client.socket.on('data', () => body.endsWith('\r\n0\r\n\r\n') && resolve()));
    const received = body.split('"severityText":"INFO"').length - 1;
    assert.ok(received > 0, 'the client got the lines that fitted');
    assert.equal(received + dropped, events, `${received} received + ${dropped} dropped`);
  });
});
