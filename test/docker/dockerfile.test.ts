import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The Dockerfile as text: hadolint lints it and its structure is checked instruction by instruction.
// test/docker/image.test.ts builds it with podman and runs the image.

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

  it('builds in a named stage and runs from the pinned node LTS slim base of scripts/versions.sh as uid 10001', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.ok(stages.some((s) => s.name === 'build'), 'a build stage');
    const base = args.get('NODE_IMAGE');
    assert.match(base ?? '', /^node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/, 'pinned to a full version tag of the 24 LTS line');
    const nodeVersion = /^NODE_VERSION="\$\{NODE_VERSION:-([\d.]+)\}"$/m.exec(readFileSync(join(ROOT, 'scripts/versions.sh'), 'utf8'))?.[1];
    assert.equal(base, `node:${nodeVersion}-bookworm-slim`, 'the Node that CI tests on');
    for (const s of stages) assert.equal(s.from, '${NODE_IMAGE}', 'every stage on the one pinned base');
    assert.equal(only(runtime, 'USER'), '10001:10001');
    for (const s of stages) {
      assert.deepEqual(all(s, 'ADD'), [], 'COPY, never ADD');
      for (const c of all(s, 'COPY')) assert.doesNotMatch(c, /https?:\/\//);
    }
    const build = stages.find((s) => s.name === 'build')!;
    const runs = all(build, 'RUN');
    // The dependencies' install scripts must run (zstd-napi's binding comes from one); `prepare` runs later.
    assert.ok(runs.some((r) => /^npm ci --ignore-scripts\b.*&& npm rebuild$/.test(r)), 'npm ci, then the dependencies\' install scripts');
    assert.ok(runs.some((r) => /npm run build && npm prune --omit=dev/.test(r)), 'compiled, then the devDependencies dropped');
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

  it('the runtime stage copies exactly package.json, config/, the build stage\'s node_modules and dist/src', () => {
    // test/docker/image.test.ts builds this Dockerfile and runs the image.
    assert.deepEqual(all(runtime, 'COPY'), [
      'package.json ./',
      'config ./config',
      '--from=build /src/node_modules ./node_modules',
      '--from=build /src/dist/src ./dist/src',
    ]);
    assert.equal(only(runtime, 'WORKDIR'), '/app');
  });
});
