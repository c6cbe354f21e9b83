import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CLI } from '../helpers/daemon.js';

// systemd/ws2otel.service, checked by systemd's own tools (systemd-analyze verify and security, from
// Debian's systemd package) and against the daemon it starts. test/systemd/boot.test.ts starts it
// under a booted systemd.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = join(ROOT, 'systemd/ws2otel.service');
const CONFIG = join(ROOT, 'systemd/config.yaml');

function analyze(...args: string[]) {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`systemd-analyze: ${r.error.message} (install Debian's systemd package: apt-get install -y systemd)`);
  return r;
}

/** The unit's settings: section → key → values in order (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `unit line outside a section or without '=': ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const unit = parseUnit(readFileSync(UNIT, 'utf8'));
const service = unit.get('Service')!;
const one = (key: string) => {
  const v = service.get(key);
  assert.ok(v && v.length === 1, `[Service] ${key}= is set exactly once`);
  return v[0]!;
};

function seconds(value: string): number {
  const m = /^(\d+)(ms|s|min|m|h)?$/.exec(value);
  assert.ok(m, `a duration: ${value}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, min: 60, m: 60, h: 3600 } as Record<string, number>)[m[2] ?? 's']!;
}

/** The unit's Environment= lines, with %S expanded as systemd does for a system service. */
function unitEnv(stateRoot: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of service.get('Environment') ?? []) {
    const eq = line.indexOf('=');
    env[line.slice(0, eq)] = line.slice(eq + 1).replaceAll('%S', stateRoot);
  }
  return env;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify without a warning', () => {
    assert.ok(existsSync('/usr/bin/node'), 'ExecStart= runs /usr/bin/node; verify fails when it is missing');
    const r = analyze('verify', UNIT);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'verify printed warnings');
  });

  it('verify does report a misspelt setting and a missing ExecStart binary (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-unit-'));
    const broken = join(dir, 'ws2otel.service');
    writeFileSync(broken, readFileSync(UNIT, 'utf8')
      .replace('ProtectSystem=strict', 'ProtectSystem=strickt')
      .replace('ExecStart=/usr/bin/node ', 'ExecStart=/usr/bin/no-such-node '));
    const r = analyze('verify', broken);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /protect system value.*strickt/i);
    assert.match(r.stderr, /no-such-node is not executable/);
  });

  it('scores the exposure that deploy/README.md quotes, rated OK or better', () => {
    const r = analyze('security', '--offline=yes', UNIT);
    assert.equal(r.status, 0, r.stderr);
    const m = /Overall exposure level for ws2otel\.service: (\d+\.\d) (\S+)/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-500));
    const [, score, rating] = m;
    assert.ok(['PERFECT', 'SAFE', 'OK'].includes(rating!), `rated ${rating} (${score})`);
    const readme = readFileSync(join(ROOT, 'deploy/README.md'), 'utf8');
    assert.match(readme, new RegExp(`exposure level[^\\n]*\\b${score!.replace('.', '\\.')} ${rating}\\b`), `the README quotes ${score} ${rating}`);
  });

  it('runs the daemon as a plain exec service with a state directory, credentials and a stop timeout above shutdown_grace', () => {
    assert.equal(one('Type'), 'exec', 'the daemon does not speak sd_notify');
    assert.match(one('ExecStart'), /^\/usr\/bin\/node \/opt\/ws2otel\/dist\/src\/cli\.js run --config \/etc\/ws2otel\/config\.yaml$/);
    assert.equal(one('DynamicUser'), 'yes');
    assert.equal(one('StateDirectory'), 'ws2otel');
    assert.equal(unitEnv('/var/lib').WS2OTEL_DATA_DIR, '/var/lib/ws2otel');
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.equal(one('Restart'), 'on-failure');
    const grace = parse(readFileSync(CONFIG, 'utf8')).shutdown_grace as string;
    assert.ok(seconds(one('TimeoutStopSec')) > seconds(grace), `TimeoutStopSec=${one('TimeoutStopSec')} > shutdown_grace ${grace}`);
    assert.ok(seconds(one('TimeoutStopSec')) > 10, 'and above the default shutdown_grace (10s)');
    for (const key of ['ProtectSystem', 'ProtectHome', 'NoNewPrivileges', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables',
      'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'RestrictNamespaces', 'LockPersonality',
      'SystemCallArchitectures', 'UMask', 'MemoryMax', 'RestrictAddressFamilies']) {
      assert.ok(service.has(key), `${key}= is set`);
    }
    assert.equal(one('CapabilityBoundingSet'), '', 'no capabilities at all');
    assert.deepEqual(service.get('SystemCallFilter')?.[0], '@system-service');
  });

  it('leaves MemoryDenyWriteExecute off, because node aborts under it', () => {
    assert.equal(service.has('MemoryDenyWriteExecute'), false);
    // The kernel's own MDWE (prctl PR_SET_MDWE, Linux 6.3+): the same refusal of writable-then-executable
    // memory that the setting applies. python3 sets it and execs node; the flag survives exec.
    const r = spawnSync('python3', ['-c', [
      'import ctypes, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'if libc.prctl(65, 1, 0, 0, 0) != 0: sys.exit(99)',
      'os.execv(sys.argv[1], sys.argv[1:])',
    ].join('\n'), process.execPath, CLI, 'version'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 99, 'this kernel has no PR_SET_MDWE');
    assert.notEqual(r.status, 0, 'node ran under MDWE');
    assert.match(r.stderr, /SetPermissions|Check failed/, r.stderr.slice(0, 400));
  });

  it('the sample config validates with the unit environment and reads its token from the credentials directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-unit-'));
    const creds = join(dir, 'credentials');
    const env = { ...process.env, ...unitEnv(join(dir, 'state')), CREDENTIALS_DIRECTORY: creds };
    const loaded = service.get('LoadCredential') ?? [];
    assert.ok(loaded.includes('mist-token'), 'the unit loads the credential the sample config reads');
    const missing = spawnSync(process.execPath, [CLI, 'validate', '--config', CONFIG], { env, encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /sources\[0\]\.token_file: cannot read .*credentials\/mist-token/);
    mkdirSync(creds);
    writeFileSync(join(creds, 'mist-token'), 'the-token\n');
    const ok = spawnSync(process.execPath, [CLI, 'validate', '--config', CONFIG], { env, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
  });
});
