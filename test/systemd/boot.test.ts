import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { Collector } from '../helpers/collector.js';
import { freePort, waitFor } from '../helpers/net.js';
import { MistSimulator } from '../../src/simulators/mist.js';

// systemd/ws2otel.service as shipped, started by a real systemd: `systemd-nspawn --boot` of a Debian
// root with systemd (scripts/debian-root.sh systemd, cached), the repo bound read-only at /opt/ws2otel,
// the sample config's sink and source pointed at a Mist simulator and the real Collector on the host's
// loopback (the container shares the host's network), and the token as a credential in /etc/credstore.
// Commands run inside through nsenter into the container's PID 1. Needs root.
//
// What this host cannot show: MemoryMax= and TasksMax= are accepted but not enforced (its cgroup v1
// controllers are read-only inside the container), and the open-file limit cannot be raised above
// 20000, so a drop-in lowers LimitNOFILE= to that; everything else is the unit as shipped.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SITE = '00000000-0000-0000-0000-000000000000';
const TOKEN = 'systemd-credential-token';
const FRAMES = 200;

function rootfs(): string {
  return process.env.WS2OTEL_SYSTEMD_ROOT
    ?? execFileSync('bash', [join(ROOT, 'scripts/debian-root.sh'), 'systemd'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_800_000 }).trim().split('\n').pop()!;
}

/** The container's PID 1 (systemd), a descendant of the nspawn process. */
function containerInit(nspawnPid: number): number | undefined {
  const queue = [nspawnPid];
  while (queue.length) {
    const pid = queue.shift()!;
    let children: number[] = [];
    try {
      children = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number));
    } catch { /* gone */ }
    for (const c of children) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'systemd') return c;
      } catch { /* gone */ }
      queue.push(c);
    }
  }
  return undefined;
}

describe('systemd unit under a booted systemd (systemd-nspawn)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-nspawn-'));
  const machine = `ws2otel-test-${process.pid}`;
  const root = join(dir, 'root');
  const collector = new Collector();
  const sim = new MistSimulator({ token: TOKEN, devices: 5, intervalMs: 0, count: FRAMES, record: 'payloads' });
  let nspawn: ChildProcess | undefined;
  let bootLog = '';
  let init = 0;
  let httpPort = 0;

  /** A command inside the container, in all of PID 1's namespaces. */
  const inside = (...cmd: string[]) => spawnSync('nsenter', ['-t', String(init), '-a', ...cmd], { encoding: 'utf8', timeout: 90_000 });
  const insideOk = (...cmd: string[]) => {
    const r = inside(...cmd);
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };
  const show = (prop: string) => insideOk('systemctl', 'show', '--value', '-p', prop, 'ws2otel.service');
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  };
  const frames = () => new Set(collector.points().filter((p) => p.name === 'mist.device.uptime').map((p) => `${String(p.resource['device.id'])}/${p.value}`));

  before(async () => {
    execFileSync('cp', ['-a', rootfs(), root]); // device nodes and owners as debootstrap made them
    collector.port = await freePort(); // not started yet: the first run buffers everything on disk
    httpPort = await freePort();
    await sim.start();

    // The install steps of deploy/README.md, into the container's root.
    mkdirSync(join(root, 'opt/ws2otel'), { recursive: true });
    mkdirSync(join(root, 'etc/ws2otel'), { recursive: true });
    const config = parse(readFileSync(join(ROOT, 'systemd/config.yaml'), 'utf8'));
    config.http.address = `127.0.0.1:${httpPort}`;
    config.sources[0].url = sim.url;
    config.sources[0].channels = [`/sites/${SITE}/stats/devices`];
    config.sinks[0].endpoint = collector.endpoint;
    config.sinks[0].batch = { max_events: 200, timeout: '100ms' };
    config.sinks[0].retry = { initial_interval: '100ms', max_interval: '1s' };
    writeFileSync(join(root, 'etc/ws2otel/config.yaml'), stringify(config), { mode: 0o644 });
    mkdirSync(join(root, 'etc/credstore'), { mode: 0o700 });
    writeFileSync(join(root, 'etc/credstore/mist-token'), `${TOKEN}\n`, { mode: 0o600 });
    copyFileSync(join(ROOT, 'systemd/ws2otel.service'), join(root, 'etc/systemd/system/ws2otel.service'));
    mkdirSync(join(root, 'etc/systemd/system/ws2otel.service.d'));
    writeFileSync(join(root, 'etc/systemd/system/ws2otel.service.d/ci-host.conf'), '# this host caps the open-file limit at 20000\n[Service]\nLimitNOFILE=20000\n');

    nspawn = spawn('systemd-nspawn', ['-D', root, '-M', machine, '--boot', '--register=no', '--keep-unit', '--console=pipe',
      `--bind-ro=${ROOT}:/opt/ws2otel`], { stdio: ['ignore', 'pipe', 'pipe'] });
    nspawn.stdout!.on('data', (d: Buffer) => (bootLog += d.toString()));
    nspawn.stderr!.on('data', (d: Buffer) => (bootLog += d.toString()));
    init = await waitFor('the container systemd', () => {
      if (nspawn!.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn!.exitCode}: ${bootLog}`);
      return containerInit(nspawn!.pid!);
    }, 60_000, 200);
    await waitFor('the boot to finish', () => /^(running|degraded)$/m.test(inside('systemctl', 'is-system-running').stdout), 120_000, 500);
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(bootLog.slice(-4000) + (init ? inside('journalctl', '-u', 'ws2otel', '--no-pager').stdout.slice(-4000) : ''));
    if (nspawn && nspawn.exitCode === null) {
      const gone = new Promise((r) => nspawn!.once('exit', r));
      if (init) inside('systemctl', 'poweroff', '--no-block');
      const t = setTimeout(() => nspawn!.kill('SIGKILL'), 60_000);
      await gone;
      clearTimeout(t);
    }
    await sim.stop();
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('systemctl start runs the daemon as a dynamic user, with its token from the credential', async () => {
    insideOk('systemctl', 'start', 'ws2otel');
    await sim.done;
    // The simulator refuses a wrong token: every frame accepted means the credential reached the config.
    await waitFor(`all ${FRAMES} frames accepted`, async () => (await metric('ws2otel_source_events_mapped_total').catch(() => 0)) >= FRAMES, 60_000, 200);
    assert.equal(show('ActiveState'), 'active');
    const pid = show('MainPID');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(insideOk('cat', `/proc/${pid}/status`))![1]);
    assert.ok(uid >= 61184 && uid <= 65519, `a DynamicUser= uid, not ${uid}`);
    assert.match(insideOk('ls', '/var/lib/private/ws2otel/buffer'), /collector/, 'the disk buffer is in the StateDirectory');
  });

  it('survives systemctl restart with its disk buffer, then delivers every frame to the Collector', async () => {
    insideOk('systemctl', 'restart', 'ws2otel');
    assert.equal(show('ActiveState'), 'active');
    await collector.start();
    // Every frame the simulator sent, the ones the second run read included.
    const missing = () => {
      const got = frames();
      return sim.sent.map((s) => `${s.payload.mac as string}/${s.payload.uptime as number}`).filter((k) => !got.has(k));
    };
    await waitFor('every frame at the Collector', () => missing().length === 0, 90_000, 250).catch(() => undefined);
    assert.deepEqual(missing(), [], 'no frame lost');
    assert.ok(frames().size >= FRAMES);
    const journal = insideOk('journalctl', '-u', 'ws2otel', '--no-pager', '-o', 'cat');
    assert.match(journal, /events stay in the disk buffer/, 'the first run stopped with the sink down and kept the rest');
    assert.match(journal, /replaying unacknowledged events/, 'the second run read them back');
  });

  it('systemctl stop ends it with SIGTERM and exit status 0', () => {
    insideOk('systemctl', 'stop', 'ws2otel');
    assert.equal(show('ActiveState'), 'inactive');
    assert.equal(show('Result'), 'success');
    assert.equal(show('ExecMainStatus'), '0');
    assert.match(insideOk('journalctl', '-u', 'ws2otel', '--no-pager', '-o', 'cat'), /"lost":0,.*"msg":"ws2otel stopped"/);
  });

  it('systemd-analyze security inside scores the exposure that the README quotes', () => {
    const r = inside('systemd-analyze', 'security', '--no-pager', 'ws2otel.service');
    assert.equal(r.status, 0, r.stderr);
    const m = /Overall exposure level for ws2otel\.service: (\d+\.\d) (\S+)/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-500));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, new RegExp(`under systemd[^\\n]*\\b${m[1]!.replace('.', '\\.')} ${m[2]}\\b`), `the README quotes ${m[1]} ${m[2]}`);
  });
});
