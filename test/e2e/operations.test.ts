import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { CLI, DaemonProcess } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// Operating the daemon: tap, SIGHUP reload, scale-out across replicas.

const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const STATS = `/sites/${SITE}/stats/devices`;

function mist(name: string, sim: MistSimulator, channels = [STATS]) {
  return { name, type: 'mist', url: sim.url, token: 'ops-token', channels, reconnect: { initial_interval: '100ms', max_interval: '500ms' } };
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

describe('operations', () => {
  it('ws2otel tap streams the mapped events of one source, and only when enabled', async () => {
    const sim = new MistSimulator({ token: 'ops-token', intervalMs: 50 });
    await sim.start();
    const sinks = [{ name: 'null', type: 'file', path: '/dev/null' }];
    const on = new DaemonProcess({ http: { tap: true }, sources: [mist('a', sim), mist('b', sim, [`/sites/${SITE}/devices`])], sinks });
    const off = new DaemonProcess({ sources: [mist('a', sim)], sinks });
    try {
      await on.start();
      const r = await runCli(['tap', '--address', `127.0.0.1:${on.httpPort}`, '--source', 'a', '--limit', '3']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { source: string; metrics: { name: string }[] });
      assert.equal(lines.length, 3);
      for (const l of lines) {
        assert.equal(l.source, 'a');
        assert.ok(l.metrics.some((m) => m.name === 'mist.device.uptime'));
      }
      await off.start();
      const refused = await runCli(['tap', '--address', `127.0.0.1:${off.httpPort}`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /tap is disabled/);
    } finally {
      await on.stop();
      await off.stop();
      await sim.stop();
    }
  });

  it('SIGHUP restarts only what changed, and a bad new config keeps the old one running', async () => {
    const simA = new MistSimulator({ token: 'ops-token', intervalMs: 100 });
    const simB = new MistSimulator({ token: 'ops-token', intervalMs: 100 });
    await simA.start();
    await simB.start();
    const sinks = [{ name: 'null', type: 'file', path: '/dev/null' }];
    const d = new DaemonProcess({ sources: [mist('a', simA), mist('b', simB)], sinks });
    try {
      await d.start();
      await waitFor('both connected', () => simA.connections === 1 && simB.connections === 1);
      const base = { http: { address: `127.0.0.1:${d.httpPort}` } };
      writeFileSync(d.configFile, stringify({ ...base, sources: [mist('a', simA), mist('b', simB, [STATS, `/sites/${SITE}/devices`])], sinks }));
      d.proc!.kill('SIGHUP');
      await waitFor('the reload', () => d.stdout.includes('config reloaded'));
      await waitFor('b reconnected with its new channels', () => simB.connections === 2);
      assert.equal(simA.connections, 1, 'a was left alone');
      assert.equal(await d.metric('ws2otel_config_reloads_total', { result: 'applied' }), 1);

      writeFileSync(d.configFile, stringify({ ...base, sources: [{ ...mist('a', simA), channels: [] }], sinks }));
      d.proc!.kill('SIGHUP');
      await waitFor('the refusal', () => d.stdout.includes('reload refused'));
      assert.match(d.stdout, /sources\[0\]\.channels: must be a non-empty list/);
      // A /metrics render is shared for 100 ms (scrapes cost one render): wait for the next one.
      await waitFor('the rejection counted', async () => (await d.metric('ws2otel_config_reloads_total', { result: 'rejected' })) === 1, 2000);
      assert.equal(simA.connections, 1);
      assert.equal(simB.connections, 2);
      await waitFor('b subscribed again', async () => (await d.metric('ws2otel_source_connected', { source: 'b' })) === 1);
    } finally {
      await d.stop();
      await simA.stop();
      await simB.stop();
    }
  });

  it('two replicas on one config serve every source exactly once', async () => {
    const sim = new MistSimulator({ token: 'ops-token', intervalMs: 200 });
    await sim.start();
    const names = ['hq', 'branch-1', 'branch-2', 'branch-3', 'dc-east', 'dc-west', 'lab', 'warehouse'];
    // One channel per source, so the simulator sees which source subscribed.
    const config = {
      sources: names.map((n, i) => mist(n, sim, [`/sites/0000000${i}-0000-0000-0000-000000000000/stats/devices`])),
      sinks: [{ name: 'null', type: 'file', path: '/dev/null' }],
    };
    const replicas = [0, 1].map((i) => new DaemonProcess(config, { WS2OTEL_REPLICA_COUNT: '2', WS2OTEL_REPLICA_INDEX: String(i) }));
    try {
      for (const r of replicas) await r.start();
      const servedNow = () => Promise.all(replicas.map(async (r) => {
        const text = await r.metrics();
        return [...text.matchAll(/^ws2otel_source_connected\{source="([^"]+)"\} 1$/gm)].map((m) => m[1]!);
      }));
      // Connected means subscribed: wait until the replicas together report as many as there are sources.
      await waitFor('every source subscribed', async () => (await servedNow()).flat().length >= names.length);
      const served = await servedNow();
      assert.deepEqual([...served[0]!, ...served[1]!].sort(), [...names].sort(), 'each source on exactly one replica');
      assert.ok(served[0]!.length > 0 && served[1]!.length > 0, 'both replicas got work');
      const subscribed = sim.clientMessages.map((m) => (m as { subscribe?: string }).subscribe).filter(Boolean);
      assert.equal(new Set(subscribed).size, names.length);
      assert.equal(subscribed.length, names.length, 'no channel subscribed twice');
    } finally {
      for (const r of replicas) await r.stop();
      await sim.stop();
    }
  });
});
