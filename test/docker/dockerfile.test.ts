import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../helpers/net.js';

// The Dockerfile, without a Docker engine (there is none here): hadolint lints it, its structure is
// checked instruction by instruction, and the runtime stage's file layout is assembled in a temp dir
// the way its COPY lines say and run there, with the image's ENV, CMD and HEALTHCHECK.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKERFILE = join(ROOT, 'Dockerfile');

let hadolintBin: string | undefined;
function hadolint(): string {
  if (hadolintBin) return hadolintBin;
  const fromEnv = process.env.WS2OTEL_HADOLINT;
  if (fromEnv && existsSync(fromEnv)) return (hadolintBin = fromEnv);
  const out = execFileSync('bash', [join(ROOT, 'scripts/hadolint.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return (hadolintBin = out.trim().split('\n').pop()!);
}

interface Instruction { op: string; args: string }
interface Stage { from: string; name: string | undefined; body: Instruction[] }

/** Instructions with continuation lines joined and comments dropped, split into stages. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s+(.*)$/.exec(line)!;
    const ins = { op: op!.toUpperCase(), args: rest!.replace(/\s+/g, ' ') };
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?: AS (\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2], body: [] });
    } else if (stages.length === 0 && ins.op === 'ARG') {
      const [k, v] = ins.args.split('=');
      args.set(k!, v ?? '');
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  return { args, stages };
}

const { args, stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const runtime = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.body.filter((i) => i.op === op).map((i) => i.args);
const only = (stage: Stage, op: string) => {
  const found = all(stage, op);
  assert.equal(found.length, 1, `exactly one ${op} in the runtime stage`);
  return found[0]!;
};
function runtimeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of all(runtime, 'ENV')) for (const m of line.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return env;
}

/** .dockerignore semantics for the patterns used here: in order, the last match wins, `!` re-includes. */
function ignored(path: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let out = false;
  for (const p of patterns) {
    const neg = p.startsWith('!');
    const pat = (neg ? p.slice(1) : p).replace(/\/$/, '');
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(path)) out = !neg;
  }
  return out;
}

describe('Dockerfile', () => {
  it('hadolint reports nothing, down to style level', () => {
    const r = spawnSync(hadolint(), ['--failure-threshold', 'style', '--format', 'json', DOCKERFILE], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it('hadolint does fail a Dockerfile with an unpinned base and a sloppy apt-get (the lint above can fail)', () => {
    const r = spawnSync(hadolint(), ['--format', 'json', '-'], { input: 'FROM node:latest\nRUN apt-get install curl\n', encoding: 'utf8' });
    assert.equal(r.status, 1);
    const codes = (JSON.parse(r.stdout) as { code: string }[]).map((f) => f.code);
    assert.ok(codes.includes('DL3007') && codes.includes('DL3008'), codes.join(' '));
  });

  it('builds in a named stage and runs from a pinned node 20 slim base as uid 10001', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.ok(stages.some((s) => s.name === 'build'), 'a build stage');
    const base = args.get('NODE_IMAGE');
    assert.match(base ?? '', /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/, 'pinned to a full version tag');
    for (const s of stages) assert.equal(s.from, '${NODE_IMAGE}', 'every stage on the one pinned base');
    assert.equal(only(runtime, 'USER'), '10001:10001');
    for (const s of stages) {
      assert.deepEqual(all(s, 'ADD'), [], 'COPY, never ADD');
      for (const c of all(s, 'COPY')) assert.doesNotMatch(c, /https?:\/\//);
    }
    const build = stages.find((s) => s.name === 'build')!;
    assert.ok(all(build, 'RUN').some((r) => /^npm ci\b/.test(r) && !/--ignore-scripts/.test(r)), 'npm ci in the build stage runs prepare (tsc)');
    const depsRuns = stages.slice(0, -1).flatMap((s) => all(s, 'RUN'));
    assert.ok(depsRuns.some((r) => /npm ci --omit=dev --ignore-scripts/.test(r)), 'production node_modules without running prepare');
  });

  it('has the container settings: config path, buffer volume, listener on all interfaces, healthcheck, entrypoint', () => {
    const env = runtimeEnv();
    assert.equal(env.WS2OTEL_HTTP_ADDRESS, '0.0.0.0:8686');
    assert.equal(env.WS2OTEL_DATA_DIR, '/var/lib/ws2otel');
    assert.equal(only(runtime, 'VOLUME'), '["/var/lib/ws2otel"]');
    assert.equal(only(runtime, 'EXPOSE'), '8686');
    assert.match(only(runtime, 'HEALTHCHECK'), /CMD \["node", "-e", .*\/healthz/);
    assert.deepEqual(JSON.parse(only(runtime, 'ENTRYPOINT')), ['node', '/app/dist/src/cli.js']);
    assert.deepEqual(JSON.parse(only(runtime, 'CMD')), ['run', '--config', '/etc/ws2otel/config.yaml']);
    assert.ok(all(runtime, 'RUN').some((r) => /install -d -o 10001 -g 10001 .*\/var\/lib\/ws2otel/.test(r)), 'the buffer dir belongs to the runtime user');
  });

  it('.dockerignore keeps what the COPY lines need and leaves node_modules, dist and .git out', () => {
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli.ts', 'src/sources/mist/source.ts', 'config/demo.yaml']) {
      assert.equal(ignored(p), false, `${p} is in the build context`);
    }
    for (const p of ['node_modules/ws/index.js', 'dist/src/cli.js', '.git/HEAD', 'test/cli.test.ts', 'Dockerfile', 'deploy/README.md']) {
      assert.equal(ignored(p), true, `${p} is left out`);
    }
  });

  describe('the runtime stage, assembled as its COPY lines say', () => {
    const app = mkdtempSync(join(tmpdir(), 'ws2otel-image-'));
    after(() => rmSync(app, { recursive: true, force: true }));

    it('copies exactly package.json, config/, production node_modules and dist/src', () => {
      assert.deepEqual(all(runtime, 'COPY'), [
        'package.json ./',
        'config ./config',
        '--from=deps /app/node_modules ./node_modules',
        '--from=build /src/dist/src ./dist/src',
      ]);
      assert.equal(only(runtime, 'WORKDIR'), '/app');
      // The deps stage: npm ci --omit=dev --ignore-scripts on package.json and the lock file alone.
      cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
      cpSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
      execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
      rmSync(join(app, 'package-lock.json'));
      cpSync(join(ROOT, 'config'), join(app, 'config'), { recursive: true });
      cpSync(join(ROOT, 'dist/src'), join(app, 'dist/src'), { recursive: true });
      assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'no devDependencies in the image');
    });

    it('runs the daemon from that layout with the image ENV, and its HEALTHCHECK passes while it runs and fails after', async () => {
      const port = await freePort();
      const env = { ...process.env, ...runtimeEnv(), WS2OTEL_HTTP_ADDRESS: `0.0.0.0:${port}`, WS2OTEL_DATA_DIR: join(app, 'data') };
      const version = spawnSync('node', [join(app, 'dist/src/cli.js'), 'version'], { env, encoding: 'utf8' });
      assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, version.stderr);

      // A config as users mount it: http.address and data_dir say loopback and /nonexistent, the ENV wins.
      const config = join(app, 'config.yaml');
      writeFileSync(config, [
        'http: {address: "127.0.0.1:1"}',
        'data_dir: /nonexistent',
        'sources: [{name: m, type: mist, token: t, url: "ws://127.0.0.1:9/api-ws/v1/stream", channels: [/sites/s/devices]}]',
        'sinks: [{name: f, type: file, path: "-", buffer: {type: disk}}]',
      ].join('\n'));
      const health = JSON.parse(/ CMD (\[.*\])$/.exec(only(runtime, 'HEALTHCHECK'))![1]!) as string[];
      const check = () => spawnSync(health[0]!, health.slice(1), { env, encoding: 'utf8', timeout: 10_000 }).status;

      const daemon = spawn('node', [join(app, 'dist/src/cli.js'), ...JSON.parse(only(runtime, 'CMD')).slice(0, 2), config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      daemon.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
      try {
        await waitFor('the HEALTHCHECK to pass', async () => daemon.exitCode !== null || check() === 0, 20_000);
        assert.equal(daemon.exitCode, null, stderr);
        assert.ok(existsSync(join(app, 'data/buffer/f')), 'the disk buffer is under WS2OTEL_DATA_DIR');
      } finally {
        daemon.kill('SIGTERM');
      }
      assert.equal(await exited, 0, stderr);
      assert.equal(check(), 1, 'the HEALTHCHECK fails when nothing listens');
    });
  });
});
