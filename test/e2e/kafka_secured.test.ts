import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess } from '../helpers/daemon.js';
import { KafkaBroker, TopicReader, createTopics, securedClient, type SecuredListener } from '../helpers/kafka.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// Mist simulator → ws2otel (child process) → the real Kafka 4.3.1 broker's SASL_SSL listener
// (SCRAM-SHA-512, a certificate for localhost signed by a CA made at setup) → a consumer reading over
// SASL_SSL. Then the refusals: a wrong password, a broker certificate from another CA, a certificate
// that does not name the dialled host. The SCRAM password is random per run; no output may hold it.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'e2e-kafka-secured-token-91c2';
const WRONG_PASSWORD = 'wrong-scram-password-4e7d19';
const FRAMES = 20;
const POINTS_PER_FRAME = 35;
const CLIENTS = ['kafkajs', 'platformatic'] as const;

let broker: KafkaBroker;
let sec: SecuredListener;

function daemonFor(sim: MistSimulator, sinks: Record<string, unknown>[]): DaemonProcess {
  return new DaemonProcess({
    // debug: the chattiest the daemon gets (kafkajs' own log lines included), for the secret checks.
    log_level: 'debug',
    // The refused sinks cannot flush: a short grace keeps SIGTERM from waiting the default out.
    shutdown_grace: '1s',
    sources: [{ name: 'mist', type: 'mist', url: sim.url, token: '${MIST_TOKEN}', channels: [`/sites/${SITE}/stats/devices`, `/sites/${SITE}/devices`] }],
    sinks: sinks.map((s) => ({
      type: 'kafka', encoding: 'json', batch: { max_events: 10, timeout: '100ms' },
      retry: { initial_interval: '200ms', max_interval: '1s', max_elapsed_time: 0 }, ...s,
    })),
  }, { MIST_TOKEN: TOKEN, KAFKA_PASSWORD: sec.password, KAFKA_WRONG_PASSWORD: WRONG_PASSWORD });
}

const topicsOf = (name: string) => ({ metrics: `sec.${name}.metrics`, logs: `sec.${name}.logs` });

/** A sink on the SASL_SSL listener with the right CA and credentials, unless `over` says otherwise. */
function securedSink(name: string, client: string, over: { brokers?: string[]; tls?: Record<string, unknown>; sasl?: Record<string, unknown> } = {}) {
  return {
    name, client, topics: topicsOf(name), brokers: over.brokers ?? [sec.bootstrap],
    tls: { enabled: true, ca_file: sec.caFile, ...over.tls },
    sasl: { mechanism: 'scram-sha-512', username: sec.username, password: '${KAFKA_PASSWORD}', ...over.sasl },
  };
}

async function readyz(d: DaemonProcess): Promise<{ text: string; components: Record<string, { ready: boolean; detail: string }> }> {
  const text = await (await fetch(`http://127.0.0.1:${d.httpPort}/readyz`)).text();
  return { text, components: JSON.parse(text).components };
}

describe('Mist → ws2otel → Kafka over SASL_SSL (SCRAM-SHA-512)', () => {
  before(async () => {
    broker = new KafkaBroker();
    await broker.start();
    sec = broker.secured!;
  });
  after(async () => {
    await broker?.destroy();
  });

  describe('with the right CA and credentials', () => {
    const names = CLIENTS.flatMap((c) => [`sasl-${c}`, `skiphost-${c}`]);
    const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 30, count: FRAMES, eventsEveryMs: 100, record: 'payloads' });
    let daemon: DaemonProcess;
    let reader: TopicReader;

    before(async () => {
      const topics = names.flatMap((n) => Object.values(topicsOf(n)));
      // Made and read over SASL_SSL too: the test's own clients prove the listener before the daemon does.
      await createTopics(sec.bootstrap, topics.map((topic) => ({ topic })), securedClient(sec));
      reader = new TopicReader(sec.bootstrap, topics, securedClient(sec));
      await reader.start();
      await sim.start();
      daemon = daemonFor(sim, CLIENTS.flatMap((c) => [
        securedSink(`sasl-${c}`, c),
        // Dialled by IP, which the certificate does not name: only the host-name check is off, the chain is still verified.
        securedSink(`skiphost-${c}`, c, { brokers: [sec.bootstrapByIp], tls: { insecure_skip_hostname: true } }),
      ]));
      await daemon.start();
    });
    after(async () => {
      await daemon?.stop();
      await sim.stop();
      await reader?.stop();
    });

    for (const name of names) {
      it(`${name}: delivers every point and every record, read back by a consumer over SASL_SSL`, async () => {
        await sim.done;
        // Events keep coming; every one sent by now must arrive.
        const events = sim.sentEvents.map((e) => e.payload.text as string);
        // The Mist data; the source's own up gauge and gap records (scope ws2otel/source) travel the same topics.
        const docs = (topic: string) => new Set(reader.messages.filter((m) => m.topic === topic).map((m) => m.value.toString())
          .filter((d) => (JSON.parse(d) as { scope?: string }).scope === 'ws2otel/mist'));
        const bodies = (topic: string) => new Set([...docs(topic)].map((d) => JSON.parse(d).body as string));
        const { metrics, logs } = topicsOf(name);
        await waitFor(`every point on ${metrics}`, () => docs(metrics).size >= FRAMES * POINTS_PER_FRAME, 60_000, 200);
        await waitFor(`every record on ${logs}`, () => events.every((b) => bodies(logs).has(b)), 30_000, 200);
        const points = [...docs(metrics)].map((d) => JSON.parse(d));
        assert.equal(points.length, FRAMES * POINTS_PER_FRAME);
        for (const { payload } of sim.sent) {
          const uptime = points.find((p) => p.name === 'mist.device.uptime' && p['device.id'] === payload.mac && p.timestamp === Math.floor((payload._time as number) * 1000));
          assert.equal(uptime?.value, payload.uptime, `uptime of ${payload.mac as string} at ${payload._time as number}`);
        }
        assert.ok(events.length > 0, 'events were sent');
        const sentNow = new Set(sim.sentEvents.map((e) => e.payload.text as string));
        for (const b of bodies(logs)) assert.ok(sentNow.has(b), `record ${b} was sent by the simulator`);
      });
    }

    it('the SCRAM password reaches no log line and no /readyz answer; exits 0 on SIGTERM', async () => {
      const { text, components } = await readyz(daemon);
      for (const name of names) assert.equal(components[`sink/${name}`]?.detail.includes('insecure_skip_hostname'), name.startsWith('skiphost'), `${name}: /readyz says what verification is off`);
      assert.equal(await daemon.stop('SIGTERM'), 0);
      for (const out of [daemon.stdout, daemon.stderr, text]) assert.ok(!out.includes(sec.password));
      assert.ok(daemon.stdout.includes('"level":"debug"'), 'debug lines were written, so the check above read them');
    });
  });

  describe('refused', () => {
    const sim = new MistSimulator({ token: TOKEN, devices: 3, intervalMs: 100, eventsEveryMs: 300 });
    let daemon: DaemonProcess;
    // The fewest each library's idempotent producer takes: the broker's failed logins then bound the attempts closely.
    const CLIENT_RETRIES = { kafkajs: 1, platformatic: 0 } as const;

    before(async () => {
      await sim.start();
      daemon = daemonFor(sim, CLIENTS.flatMap((c) => [
        { ...securedSink(`badpw-${c}`, c, { sasl: { password: '${KAFKA_WRONG_PASSWORD}' } }), client_retries: CLIENT_RETRIES[c], timeout: '3s' },
        { ...securedSink(`otherca-${c}`, c, { tls: { ca_file: sec.otherCaFile } }), client_retries: CLIENT_RETRIES[c], timeout: '3s' },
        { ...securedSink(`wronghost-${c}`, c, { brokers: [sec.bootstrapByIp] }), client_retries: CLIENT_RETRIES[c], timeout: '3s' },
      ]));
      await daemon.start();
    });
    after(async () => {
      await daemon?.stop();
      await sim.stop();
    });

    const refusedAndRetried = async (sink: string) => {
      await waitFor(`${sink}: three retried failures`, async () => (await daemon.metric('ws2otel_sink_send_failures_total', { sink, kind: 'retryable' })) >= 3, 90_000, 200);
      assert.equal(await daemon.metric('ws2otel_sink_events_sent_total', { sink }), 0, `${sink}: nothing delivered`);
      assert.equal(await daemon.metric('ws2otel_sink_events_dropped_total', { sink }), 0, `${sink}: nothing dropped: the buffer holds it`);
      return (await readyz(daemon)).components[`sink/${sink}`]!.detail;
    };

    for (const c of CLIENTS) {
      it(`${c}: a wrong password is a counted, visible authentication failure, retried on the backoff schedule, never in a tight loop`, async () => {
        const sink = `badpw-${c}`;
        const detail = await refusedAndRetried(sink);
        assert.match(detail, /authentication failed|SASL/i, `/readyz says why: ${detail}`);
        // Each pipeline attempt (spaced by the retry backoff) costs the broker at most client_retries + 1
        // logins per sink; read the broker's count first, so it cannot include attempts the metric has not.
        const failedLogins = broker.logLines(/Failed authentication with .*SCRAM-SHA-512/).length;
        let bound = 0;
        let attempts = 0;
        for (const x of CLIENTS) {
          const n = (await daemon.metric('ws2otel_sink_send_failures_total', { sink: `badpw-${x}` })) + 1;
          attempts += n;
          bound += n * (CLIENT_RETRIES[x] + 1);
        }
        assert.ok(failedLogins >= 1, 'the broker saw the wrong password');
        assert.ok(failedLogins <= bound, `${failedLogins} failed logins for ${attempts} pipeline attempts`);
      });

      it(`${c}: refuses a broker certificate signed by another CA (chain verification is on by default)`, async () => {
        const detail = await refusedAndRetried(`otherca-${c}`);
        assert.match(detail, /certificate/i, `/readyz says why: ${detail}`);
      });

      it(`${c}: refuses a certificate that does not name the dialled host (host-name verification is on by default)`, async () => {
        const detail = await refusedAndRetried(`wronghost-${c}`);
        assert.match(detail, /altnames|host ?name/i, `/readyz says why: ${detail}`);
      });
    }

    it('neither password reaches a log line or /readyz', async () => {
      const { text } = await readyz(daemon);
      await daemon.stop('SIGTERM');
      for (const secret of [sec.password, WRONG_PASSWORD]) {
        for (const out of [daemon.stdout, daemon.stderr, text]) assert.ok(!out.includes(secret));
      }
    });
  });
});
