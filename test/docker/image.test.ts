import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Collector } from '../helpers/collector.js';
import { waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// The image itself: the unchanged Dockerfile built by podman (scripts/image-build.sh, on the local
// stand-in for node:<ver>-bookworm-slim that scripts/image-base.sh makes) and run as a user runs it:
// read-only root, a named volume at /var/lib/ws2otel, the config at /etc/ws2otel/config.yaml. A Mist
// simulator and the real Collector run on the host's loopback; the container has a network of its own
// (slirp4netns) that reaches them at 10.0.2.2, so the image's own 0.0.0.0:8686 listener stays inside it.
// WS2OTEL_IMAGE names an image already built (CI builds it once, before the tests).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PODMAN = join(ROOT, 'scripts/podman.sh');
const SITE = 'c1947558-268d-4d31-9a4e-0123456789ab';
const TOKEN = 'image-test-token';
const FRAMES = 20; // stats frames the simulator sends in all (its devices take turns)
const POINTS_PER_FRAME = 35; // one simulated AP frame (see test/e2e/mist_otlp.test.ts)

function podman(...args: string[]) {
  return spawnSync('bash', [PODMAN, ...args], { encoding: 'utf8', timeout: 120_000 });
}
function podmanOk(...args: string[]): string {
  const r = podman(...args);
  assert.equal(r.status, 0, `podman ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/** Data points in OTLP-JSON lines (the file sink writes one export request per line). */
/** The Mist data points in OTLP-JSON lines; the source's own up gauge (scope ws2otel/source) is there too. */
function countPoints(text: string): number {
  let n = 0;
  for (const line of text.split('\n').filter(Boolean)) {
    const req = JSON.parse(line) as { resourceMetrics?: { scopeMetrics: { scope?: { name?: string }; metrics: Record<string, { dataPoints?: unknown[] }>[] }[] }[] };
    for (const rm of req.resourceMetrics ?? []) for (const sm of rm.scopeMetrics) for (const m of sm.scope?.name === 'ws2otel/mist' ? sm.metrics : []) {
      n += (m.gauge?.dataPoints?.length ?? 0) + (m.sum?.dataPoints?.length ?? 0);
    }
  }
  return n;
}

describe('container image, built by podman and run read-only', () => {
  const tag = `${process.pid}-${Date.now()}`;
  const name = `ws2otel-image-test-${tag}`;
  const volume = `ws2otel-image-test-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-image-'));
  const collector = new Collector();
  const sim = new MistSimulator({ token: TOKEN, devices: 2, intervalMs: 50, count: FRAMES, record: 'payloads' });
  let image = process.env.WS2OTEL_IMAGE ?? '';
  let hostPid = 0;

  before(async () => {
    if (!image) {
      image = execFileSync('bash', [join(ROOT, 'scripts/image-build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_800_000 })
        .trim().split('\n').pop()!;
    }
    await collector.start();
    await sim.start();
    // Two sinks: `collector` sends as it goes (disk buffer on the volume); `drain` holds everything in
    // one batch whose timer never fires during the test, so its file on the volume is written only by
    // the flush that SIGTERM starts.
    // http.address and data_dir as a user might leave them: the image's ENV must win over both.
    const config = {
      http: { address: '127.0.0.1:1' },
      data_dir: '/nonexistent',
      log_level: 'info',
      shutdown_grace: '10s',
      sources: [{
        name: 'mist', type: 'mist', url: sim.url.replace('127.0.0.1', '10.0.2.2'), token: TOKEN,
        channels: [`/sites/${SITE}/stats/devices`],
      }],
      sinks: [
        { name: 'collector', type: 'otlp_http', endpoint: collector.endpoint.replace('127.0.0.1', '10.0.2.2'), buffer: { type: 'disk' }, batch: { max_events: 50, timeout: '100ms' } },
        { name: 'drain', type: 'file', path: '/var/lib/ws2otel/drain.jsonl', batch: { max_events: 1000, timeout: '1h' } },
      ],
    };
    writeFileSync(join(dir, 'config.yaml'), stringify(config), { mode: 0o644 });
    podmanOk('volume', 'create', volume);
    podmanOk('run', '--detach', '--name', name, '--read-only',
      '--network', 'slirp4netns:allow_host_loopback=true',
      '-v', `${join(dir, 'config.yaml')}:/etc/ws2otel/config.yaml:ro`,
      '-v', `${volume}:/var/lib/ws2otel`,
      image);
    hostPid = Number(podmanOk('inspect', '--format', '{{.State.Pid}}', name));
  });

  after(async () => {
    const logs = podman('logs', name);
    if (process.exitCode) console.error(logs.stdout + logs.stderr);
    podman('rm', '--force', '--time', '0', name);
    podman('volume', 'rm', '--force', volume);
    await sim.stop();
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports its size and keeps HEALTHCHECK (docker format) with the ENTRYPOINT and CMD of the Dockerfile', (t) => {
    const inspect = JSON.parse(podmanOk('image', 'inspect', image))[0] as { Size: number; Healthcheck?: { Test: string[] }; Config: { User: string; Entrypoint: string[]; Cmd: string[] } };
    t.diagnostic(`image ${image}: ${(inspect.Size / 1e6).toFixed(1)} MB`);
    assert.equal(inspect.Config.User, '10001:10001');
    assert.deepEqual(inspect.Config.Entrypoint, ['node', '/app/dist/src/cli.js']);
    assert.deepEqual(inspect.Config.Cmd, ['run', '--config', '/etc/ws2otel/config.yaml']);
    assert.equal(inspect.Healthcheck?.Test[0], 'CMD', 'kept only in the docker format');
  });

  it('runs the daemon as uid 10001 on a read-only root file system', () => {
    const status = readFileSync(`/proc/${hostPid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m, 'the container main process, seen from the host');
    const cmdline = readFileSync(`/proc/${hostPid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(cmdline.slice(0, 2), ['node', '/app/dist/src/cli.js']);
    const write = podman('exec', name, 'sh', '-c', 'touch /app/x');
    assert.notEqual(write.status, 0, 'the root file system is read-only');
    assert.match(write.stderr, /Read-only file system/);
  });

  it('forwards the simulator stream to the Collector, buffering on the volume', async () => {
    let sent = false;
    void sim.done.then(() => (sent = true));
    await waitFor('the simulator to send every frame', () => {
      assert.equal(podmanOk('inspect', '--format', '{{.State.Running}}', name), 'true', podman('logs', name).stderr);
      return sent;
    }, 60_000, 500);
    // The Mist data; the source's own up gauge (scope ws2otel/source) reaches the Collector too.
    const mistPoints = () => collector.points().filter((p) => p.scope === 'ws2otel/mist');
    await waitFor('every point at the Collector', () => mistPoints().length >= FRAMES * POINTS_PER_FRAME, 60_000, 200);
    assert.equal(mistPoints().length, FRAMES * POINTS_PER_FRAME);
    const uptime = collector.points().filter((p) => p.name === 'mist.device.uptime');
    assert.deepEqual(uptime.map((p) => p.value).sort(), sim.sent.map((s) => s.payload.uptime).sort());
    const files = podmanOk('exec', name, 'sh', '-c', 'ls /var/lib/ws2otel/buffer');
    assert.match(files, /collector/, 'the disk buffer is on the volume');
  });

  it('passes its HEALTHCHECK while the daemon runs, and the same check fails where nothing listens', () => {
    const r = podman('healthcheck', 'run', name);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const test = (JSON.parse(podmanOk('image', 'inspect', image))[0].Healthcheck.Test as string[]).slice(1);
    const idle = podman('run', '--rm', '--network', 'none', '--entrypoint', test[0]!, image, ...test.slice(1));
    assert.equal(idle.status, 1, idle.stdout + idle.stderr);
  });

  it('prints the package version', () => {
    const version = podmanOk('run', '--rm', '--network', 'none', image, 'version');
    assert.equal(version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('loads every native module it ships, and zstd, lz4 and snappy round-trip through the Kafka sink codecs', () => {
    const found = podmanOk('exec', name, 'find', '/app/node_modules', '-name', '*.node', '-type', 'f').split('\n').filter(Boolean).sort();
    assert.ok(found.some((f) => f.includes('/zstd-napi/')), `a zstd-napi binding in the image: ${found.join(', ')}`);
    const script = [
      'const { createRequire } = await import("node:module");',
      'const require = createRequire("/app/dist/src/sinks/kafka/codecs.js");',
      `for (const f of ${JSON.stringify(found)}) require(f);`,
      'const { registerKafkajsCodecs } = await import("/app/dist/src/sinks/kafka/codecs.js");',
      'const { CompressionCodecs, CompressionTypes } = require("kafkajs");',
      'registerKafkajsCodecs();',
      'const input = Buffer.from("ws2otel ".repeat(1000));',
      'const out = [];',
      'for (const name of ["ZSTD", "LZ4", "Snappy"]) {',
      '  const codec = CompressionCodecs[CompressionTypes[name]]();',
      '  const packed = await codec.compress({ buffer: input });',
      '  const back = await codec.decompress(packed);',
      '  out.push(`${name} ${packed.length} ${back.equals(input)}`);',
      '}',
      'console.log(out.join("\\n"));',
    ].join('\n');
    const r = podman('exec', name, 'node', '--input-type=module', '-e', script);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
    assert.deepEqual(lines.map(([codec, , ok]) => `${codec} ${ok}`), ['ZSTD true', 'LZ4 true', 'Snappy true']);
    for (const [codec, size] of lines) assert.ok(Number(size) < 8000, `${codec} compressed 8000 bytes to ${size}`);
  });

  it('on SIGTERM flushes what is batched to the volume and exits 0', async () => {
    const path = JSON.parse(podmanOk('volume', 'inspect', volume))[0].Mountpoint as string;
    assert.equal(spawnSync('test', ['-s', join(path, 'drain.jsonl')]).status, 1, 'nothing flushed before the stop');
    podmanOk('stop', '--time', '30', name);
    assert.equal(podmanOk('inspect', '--format', '{{.State.ExitCode}}', name), '0');
    assert.equal(countPoints(readFileSync(join(path, 'drain.jsonl'), 'utf8')), FRAMES * POINTS_PER_FRAME);
    const logs = podman('logs', name);
    const stopped = (logs.stdout + logs.stderr).split('\n').find((l) => l.includes('"msg":"ws2otel stopped"'));
    assert.ok(stopped, 'the daemon logged its end');
    assert.equal(JSON.parse(stopped).lost, 0);
  });
});
