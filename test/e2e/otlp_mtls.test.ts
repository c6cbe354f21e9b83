import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Collector } from '../helpers/collector.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { makePki, type Pki } from '../helpers/tls.js';
import { simulators } from '../../src/simulators/index.js';

// The OTLP/HTTP sink's `tls` block against the real Collector's OTLP receiver configured with
// `client_ca_file`, i.e. requiring a client certificate (mutual TLS), as Collector gateways often do.

const CHANNEL = '/sites/c1947558-268d-4d31-9a4e-0123456789ab/stats/devices';

describe('OTLP/HTTP over mutual TLS to the real Collector', () => {
  let pki: Pki;
  let collector: Collector;
  let sim: { url: string; stop(): Promise<void> };
  const daemons: DaemonProcess[] = [];

  before(async () => {
    pki = makePki();
    collector = new Collector({ tls: { cert_file: pki.serverCert, key_file: pki.serverKey, client_ca_file: pki.caCert } });
    await collector.start();
    const spec = simulators.mist!;
    const defaults = Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, o.default]));
    sim = await spec.start({ ...defaults, port: '0', token: 'tok-mtls', 'interval-ms': '100' });
  });

  after(async () => {
    for (const d of daemons) await d.stop();
    await sim?.stop();
    await collector?.stop();
  });

  function daemon(tls: Record<string, unknown>): DaemonProcess {
    const d = new DaemonProcess({
      sources: [{ name: 'mist', type: 'mist', url: sim.url, token: 'tok-mtls', channels: [CHANNEL] }],
      sinks: [{ name: 'collector', type: 'otlp_http', endpoint: collector.endpoint, tls, batch: { max_events: 20, timeout: '100ms' }, retry: { initial_interval: '100ms', max_interval: '500ms' } }],
    });
    daemons.push(d);
    return d;
  }

  it('is refused by the Collector without a client certificate, and says why on /readyz', async () => {
    const d = daemon({ ca_file: pki.caCert });
    await d.start();
    await waitFor('retried send failures', async () => (await d.metric('ws2otel_sink_send_failures_total', { sink: 'collector', kind: 'retryable' })) >= 2, 30_000);
    assert.equal(await d.metric('ws2otel_sink_events_sent_total', { sink: 'collector' }), 0);
    const readyz = (await (await fetch(`http://127.0.0.1:${d.httpPort}/readyz`)).json()) as { components: Record<string, { detail: string }> };
    assert.match(readyz.components['sink/collector']!.detail, /^(metrics|logs): /);
    assert.equal(await d.stop(), 0);
    assert.equal(collector.points().length, 0);
  });

  it('delivers with cert_file and key_file, verifying the Collector by ca_file', async () => {
    const d = daemon({ ca_file: pki.caCert, cert_file: pki.clientCert, key_file: pki.clientKey, min_version: 'TLSv1.2' });
    await d.start();
    await waitFor('points at the Collector', () => collector.points().some((p) => p.name === 'mist.device.uptime'), 30_000);
    assert.ok((await d.metric('ws2otel_sink_events_sent_total', { sink: 'collector' })) > 0);
    assert.doesNotMatch(d.stdout, /TLS verification off/);
    assert.equal(await d.stop(), 0);
  });

  it('warns at start and notes on /readyz when verification is off', async () => {
    const d = daemon({ insecure_skip_verify: true, cert_file: pki.clientCert, key_file: pki.clientKey });
    await d.start();
    await waitFor('points sent', async () => (await d.metric('ws2otel_sink_events_sent_total', { sink: 'collector' })) > 0, 30_000);
    const warn = d.logLines().find((l) => l.level === 'warn' && String(l.msg).startsWith('TLS verification off'));
    assert.ok(warn, d.stdout);
    assert.equal(warn!.sink, 'collector');
    const readyz = (await (await fetch(`http://127.0.0.1:${d.httpPort}/readyz`)).json()) as { components: Record<string, { detail: string }> };
    assert.match(readyz.components['sink/collector']!.detail, /TLS verification off: certificate chain \(insecure_skip_verify\)/);
    assert.equal(await d.stop(), 0);
  });
});
