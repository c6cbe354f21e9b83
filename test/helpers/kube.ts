import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './net.js';
import { Child } from './process.js';

// A Kubernetes control plane on loopback for the chart's tests: etcd, kube-apiserver and
// kube-controller-manager from scripts/kube-build.sh (cached; WS2OTEL_KUBE_BIN names the folder), and
// kubectl and helm pointed at it. No kubelet or scheduler: pods are admitted and stay Pending.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function binDir(env: string, script: string, probe: string): string {
  const fromEnv = process.env[env];
  if (fromEnv && existsSync(join(fromEnv, probe))) return fromEnv;
  return execFileSync('bash', [join(ROOT, 'scripts', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_600_000 })
    .trim().split('\n').pop()!;
}

export class KubeCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'ws2otel-kube-'));
  readonly kubeconfig = join(this.dir, 'kubeconfig');
  private readonly procs: { name: string; child: Child; output: string }[] = [];
  private kubeBin = '';
  private helmBin = '';

  async start(): Promise<void> {
    this.kubeBin = binDir('WS2OTEL_KUBE_BIN', 'kube-build.sh', 'kube-apiserver');
    this.helmBin = join(binDir('WS2OTEL_K8S_BIN', 'k8s-tools.sh', 'helm'), 'helm');
    const [etcdClient, etcdPeer, apiPort, cmPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const token = `ws2otel-test-${process.pid}-${Date.now()}`;
    // The service-account signing key, and one static token in system:masters for kubectl, helm and the
    // controller manager (a test cluster: no client certificates needed).
    const saKey = join(this.dir, 'sa.key');
    execFileSync('openssl', ['genrsa', '-out', saKey, '2048'], { stdio: 'ignore' });
    writeFileSync(join(this.dir, 'tokens.csv'), `${token},ws2otel-test,ws2otel-test,system:masters\n`);
    writeFileSync(this.kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      `clusters: [{name: test, cluster: {server: "https://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: test, user: {token: "${token}"}}]`,
      'contexts: [{name: test, context: {cluster: test, user: test}}]',
    ].join('\n'), { mode: 0o600 });

    this.run('etcd', [
      '--name', 'test', '--data-dir', join(this.dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `test=http://127.0.0.1:${etcdPeer}`, '--log-level', 'warn',
    ]);
    mkdirSync(join(this.dir, 'certs'));
    this.run('kube-apiserver', [
      '--etcd-servers', `http://127.0.0.1:${etcdClient}`,
      '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(apiPort),
      '--cert-dir', join(this.dir, 'certs'), // a self-signed serving certificate made at start
      '--token-auth-file', join(this.dir, 'tokens.csv'), '--authorization-mode', 'Node,RBAC',
      '--service-account-issuer', 'https://kubernetes.default.svc', '--service-account-key-file', saKey,
      '--service-account-signing-key-file', saKey,
      '--service-cluster-ip-range', '10.96.0.0/24',
      // No kubelet will ever serve the kubernetes Service's endpoints; the reconciler would wait for one.
      '--endpoint-reconciler-type', 'none',
    ]);
    await waitFor('the API server to be ready', () => {
      this.assertRunning();
      return this.kubectl('get', '--raw', '/readyz').status === 0;
    }, 180_000, 500);
    this.run('kube-controller-manager', [
      '--kubeconfig', this.kubeconfig, '--bind-address', '127.0.0.1', '--secure-port', String(cmPort),
      '--leader-elect=false', '--service-account-private-key-file', saKey, '--use-service-account-credentials=false',
      '--controllers', '*,-node-ipam-controller,-node-lifecycle-controller',
    ]);
    // The controller manager is working when it has made the default namespace's ServiceAccount.
    await waitFor('the controller manager to run', () => {
      this.assertRunning();
      return this.kubectl('get', 'serviceaccount', 'default', '-n', 'default').status === 0;
    }, 180_000, 500);
  }

  private run(name: string, args: string[]): void {
    const entry = { name, output: '' };
    const child = new Child(join(this.kubeBin, name), args, (d) => (entry.output = (entry.output + d.toString()).slice(-20_000)));
    this.procs.push(Object.assign(entry, { child }));
  }

  private assertRunning(): void {
    for (const p of this.procs) if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}:\n${p.output}`);
  }

  /** The last lines each control-plane process printed (for failure messages). */
  logs(): string {
    return this.procs.map((p) => `--- ${p.name}\n${p.output.slice(-3000)}`).join('\n');
  }

  kubectl(...args: string[]): SpawnSyncReturns<string> {
    return spawnSync(join(this.kubeBin, 'kubectl'), ['--kubeconfig', this.kubeconfig, ...args], { encoding: 'utf8', timeout: 120_000 });
  }

  helm(...args: string[]): SpawnSyncReturns<string> {
    return spawnSync(this.helmBin, ['--kubeconfig', this.kubeconfig, ...args], { encoding: 'utf8', timeout: 300_000 });
  }

  get helmPath(): string {
    return this.helmBin;
  }

  async stop(): Promise<void> {
    for (const p of [...this.procs].reverse()) await p.child.stop('SIGTERM', 15_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
