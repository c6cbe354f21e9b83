import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { CLI } from '../helpers/daemon.js';
import { KubeCluster } from '../helpers/kube.js';
import { waitFor } from '../helpers/net.js';

// deploy/helm/ws2otel rendered by the real helm (`helm template`, `helm lint --strict`), each rendering
// checked by a real API server (`kubectl apply --dry-run=server --validate=strict`), and installed into
// it: etcd, kube-apiserver and kube-controller-manager from scripts/kube-build.sh (test/helpers/kube.ts).
// No kubelet runs, so pods stay Pending: what is proven is admission (PodSecurity `restricted` included),
// the objects and the pods the controllers make from them, upgrades and uninstalls.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(ROOT, 'deploy/helm/ws2otel');
const DISK_VALUES = join(CHART, 'values-disk-buffer.yaml');
const KUBE_VERSION = '1.30.0';

const cluster = new KubeCluster();
before(async () => {
  await cluster.start();
  const ns = cluster.kubectl('create', 'namespace', 'validate');
  assert.equal(ns.status, 0, ns.stderr);
}, { timeout: 3_600_000 });
after(() => cluster.stop());

type Obj = Record<string, any>; // rendered manifests: shapes checked by the assertions

function render(...args: string[]): { text: string; docs: Obj[] } {
  const r = spawnSync(cluster.helmPath, ['template', 'ws2otel', CHART, '--kube-version', KUBE_VERSION, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj | null).filter((d): d is Obj => d !== null);
  return { text: r.stdout, docs };
}

/** The API server's verdict on manifests, nothing stored: strict field validation and every admission check. */
function serverCheck(manifests: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'ws2otel-helm-')), 'manifests.yaml');
  writeFileSync(file, manifests);
  return cluster.kubectl('apply', '--dry-run=server', '--validate=strict', '-n', 'validate', '-o', 'name', '-f', file);
}

function assertValid(text: string, docs: Obj[]) {
  const r = serverCheck(text);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const group = (d: Obj) => (d.apiVersion.includes('/') ? `.${d.apiVersion.split('/')[0]}` : '');
  assert.deepEqual(r.stdout.trim().split('\n').sort(), docs.map((d) => `${d.kind.toLowerCase()}${group(d)}/${d.metadata.name}`).sort());
}

const find = (docs: Obj[], kind: string, name = 'ws2otel') => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `${kind}/${name} rendered`);
  return d;
};
const container = (workload: Obj) => workload.spec.template.spec.containers[0] as Obj;
const envOf = (c: Obj) => Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
const mountOf = (c: Obj, path: string) => (c.volumeMounts as Obj[]).find((m) => m.mountPath === path);

/** The rendered config.yaml through `ws2otel validate`, with the Secret's keys where the pod mounts them. */
function validateRenderedConfig(docs: Obj[], secretKeys: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-helm-'));
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets);
  for (const k of secretKeys) writeFileSync(join(secrets, k), `${k}-value\n`);
  const text = (find(docs, 'ConfigMap').data['config.yaml'] as string).replaceAll('/etc/ws2otel/secrets/', `${secrets}/`);
  writeFileSync(join(dir, 'config.yaml'), text);
  const c = container(docs.find((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')!);
  const env = { ...process.env, ...(Object.fromEntries(Object.entries(envOf(c)).filter(([, v]) => typeof v === 'string')) as Record<string, string>) };
  return spawnSync(process.execPath, [CLI, 'validate', '--config', join(dir, 'config.yaml')], { env, encoding: 'utf8' });
}

describe('Helm chart', () => {
  it('passes helm lint --strict with the default and the disk-buffer values', () => {
    for (const extra of [[], ['-f', DISK_VALUES]]) {
      const r = spawnSync(cluster.helmPath, ['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, ...extra], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('default values: a valid single-replica Deployment with probes on 8686, a locked-down pod and its config', () => {
    const { text, docs } = render();
    assertValid(text, docs);
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const deploy = find(docs, 'Deployment');
    assert.equal(deploy.spec.replicas, 1);
    assert.equal(deploy.spec.strategy.type, 'Recreate');
    const pod = deploy.spec.template.spec;
    const c = container(deploy);
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8686, protocol: 'TCP' }]);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.port, 'http');
    assert.deepEqual(c.args, ['run', '--config', '/etc/ws2otel/config.yaml']);
    assert.equal(c.command, undefined, 'the image ENTRYPOINT runs node');
    assert.deepEqual(envOf(c), {
      WS2OTEL_HTTP_ADDRESS: '0.0.0.0:8686', WS2OTEL_DATA_DIR: '/var/lib/ws2otel', WS2OTEL_REPLICA_COUNT: '1', WS2OTEL_REPLICA_INDEX: '0',
    });
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(c.resources.requests && c.resources.limits);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.ok(pod.terminationGracePeriodSeconds > 10, 'above shutdown_grace');
    assert.deepEqual(mountOf(c, '/etc/ws2otel/config.yaml'), { name: 'config', mountPath: '/etc/ws2otel/config.yaml', subPath: 'config.yaml', readOnly: true });
    assert.ok(mountOf(c, '/tmp'), 'a writable /tmp on a read-only root');
    assert.deepEqual((pod.volumes as Obj[]).find((v) => v.name === 'data'), { name: 'data', emptyDir: {} });
    assert.equal(mountOf(c, '/etc/ws2otel/secrets'), undefined, 'no Secret without existingSecret');
    const svc = find(docs, 'Service');
    assert.deepEqual(svc.spec.ports, [{ name: 'http', port: 8686, targetPort: 'http', protocol: 'TCP' }]);
    assert.deepEqual(svc.spec.selector, deploy.spec.selector.matchLabels);
    const r = validateRenderedConfig(docs, ['mist-token']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('disk-buffer values: a StatefulSet with a claim per pod at /var/lib/ws2otel, the Secret mounted, a disk-buffered sink', () => {
    const { text, docs } = render('-f', DISK_VALUES);
    assertValid(text, docs);
    const sts = find(docs, 'StatefulSet');
    assert.equal(docs.some((d) => d.kind === 'Deployment'), false);
    assert.equal(sts.spec.serviceName, 'ws2otel-headless');
    assert.equal(find(docs, 'Service', 'ws2otel-headless').spec.clusterIP, 'None');
    const [claim] = sts.spec.volumeClaimTemplates as Obj[];
    assert.equal(claim!.metadata.name, 'data');
    assert.equal(claim!.spec.resources.requests.storage, '10Gi');
    const c = container(sts);
    assert.deepEqual(mountOf(c, '/var/lib/ws2otel'), { name: 'data', mountPath: '/var/lib/ws2otel' });
    assert.equal((sts.spec.template.spec.volumes as Obj[]).some((v) => v.name === 'data'), false, 'the claim, not an emptyDir');
    assert.equal(sts.spec.template.spec.securityContext.fsGroup, 10001, 'the volume is writable by the non-root user');
    assert.deepEqual(mountOf(c, '/etc/ws2otel/secrets'), { name: 'secrets', mountPath: '/etc/ws2otel/secrets', readOnly: true });
    assert.equal((sts.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'secrets')!.secret.secretName, 'ws2otel-credentials');
    const config = parseAllDocuments(find(docs, 'ConfigMap').data['config.yaml'])[0]!.toJS() as Obj;
    assert.equal(config.sinks[0].buffer.type, 'disk');
    const r = validateRenderedConfig(docs, ['mist-token']);
    assert.equal(r.status, 0, r.stderr);
    const missing = validateRenderedConfig(docs, []);
    assert.match(missing.stderr, /sources\[0\]\.token_file: cannot read .*mist-token/, 'the token really comes from the mounted Secret');
  });

  it('scale-out: replicas N run a StatefulSet whose pods get their ordinal and the count', () => {
    const { text, docs } = render('--set', 'replicas=3');
    assertValid(text, docs);
    const sts = find(docs, 'StatefulSet');
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, 'Parallel');
    const env = envOf(container(sts));
    assert.equal(env.WS2OTEL_REPLICA_COUNT, '3');
    assert.deepEqual(env.WS2OTEL_REPLICA_INDEX, { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } });
  });

  it('scale-out before Kubernetes 1.28 needs replicaIndexFrom: hostname, which parses the ordinal in /bin/sh', () => {
    const old = spawnSync(cluster.helmPath, ['template', 'ws2otel', CHART, '--kube-version', '1.27.0', '--set', 'replicas=2'], { encoding: 'utf8' });
    assert.notEqual(old.status, 0);
    assert.match(old.stderr, /needs Kubernetes >= 1\.28.*replicaIndexFrom: hostname/);

    const { text, docs } = render('--kube-version', '1.27.0', '--set', 'replicas=2,replicaIndexFrom=hostname');
    assertValid(text, docs);
    const c = container(find(docs, 'StatefulSet'));
    assert.equal(envOf(c).WS2OTEL_REPLICA_INDEX, undefined);
    const [sh, flag, script, argv0] = c.command as string[];
    assert.equal(sh, '/bin/sh');
    // Run the wrapper as the pod would, with node printing what the daemon would receive in place of
    // /app/dist/src/cli.js (which exists only in the image).
    const probe = script!.replace('node /app/dist/src/cli.js', `node -e 'console.log(process.env.WS2OTEL_REPLICA_INDEX + " " + process.argv.slice(1).join(" "))'`);
    assert.notEqual(probe, script, 'the wrapper execs node /app/dist/src/cli.js');
    const r = spawnSync(sh!, [flag!, probe, argv0!, ...(c.args as string[])], { env: { ...process.env, HOSTNAME: 'ws2otel-12' }, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), '12 run --config /etc/ws2otel/config.yaml', r.stderr);
  });

  it('optional ServiceMonitor scrapes /metrics on the Service port', () => {
    const { docs } = render('--set', 'serviceMonitor.enabled=true');
    // The Prometheus Operator's CRD is not installed in the test API server: the rest is checked there.
    const rest = docs.filter((d) => d.kind !== 'ServiceMonitor');
    assertValid(rest.map((d) => stringify(d)).join('---\n'), rest);
    const sm = find(docs, 'ServiceMonitor');
    assert.deepEqual(sm.spec.endpoints[0].port, 'http');
    assert.equal(sm.spec.endpoints[0].path, '/metrics');
    assert.deepEqual(sm.spec.selector.matchLabels, find(docs, 'Service').spec.selector, 'it selects the metrics Service');
  });

  it('the API server check above can fail: a misspelt field, a bad port name, a mount of no volume', () => {
    const typo = serverCheck(render('--set', 'podSecurityContext.runAsNonRot=true').text);
    assert.notEqual(typo.status, 0);
    assert.match(typo.stderr, /unknown field "spec\.template\.spec\.securityContext\.runAsNonRot"/);
    const base = render().text;
    const badPort = serverCheck(base.replace('- name: http\n              containerPort: 8686', '- name: http_metrics_port_name\n              containerPort: 8686'));
    assert.notEqual(badPort.status, 0);
    assert.match(badPort.stderr, /containers\[0\]\.ports\[0\]\.name.*http_metrics_port_name/);
    const badMount = serverCheck(base.replace('- name: tmp\n          emptyDir', '- name: scratch\n          emptyDir'));
    assert.notEqual(badMount.status, 0);
    assert.match(badMount.stderr, /volumeMounts\[\d\]\.name: Not found: "tmp"/);
  });
});

describe('Helm chart installed into the API server', () => {
  /** A namespace where PodSecurity enforces `restricted`: a pod that breaks it is refused at creation. */
  function restrictedNamespace(name: string) {
    for (const args of [['create', 'namespace', name], ['label', 'namespace', name, 'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest']]) {
      const r = cluster.kubectl(...args);
      assert.equal(r.status, 0, r.stderr);
    }
  }
  const get = (ns: string, what: string): Obj => {
    const r = cluster.kubectl('get', what, '-n', ns, '-o', 'json');
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Obj;
  };
  const pods = (ns: string) => (get(ns, 'pods').items as Obj[]);
  const events = (ns: string) => (get(ns, 'events').items as Obj[]).map((e) => `${e.reason}: ${e.message}`).join('\n');

  it('default values: helm install creates the objects, and the pod its ReplicaSet makes is admitted under PodSecurity restricted', async () => {
    restrictedNamespace('plain');
    const install = cluster.helm('install', 'ws2otel', CHART, '-n', 'plain');
    assert.equal(install.status, 0, install.stdout + install.stderr);
    assert.match(install.stdout, /STATUS: deployed/);
    for (const kind of ['deployment', 'configmap', 'service', 'serviceaccount', 'poddisruptionbudget']) get('plain', `${kind}/ws2otel`);
    // The Deployment controller made a ReplicaSet, which made the pod: PodSecurity admitted it.
    const [pod] = await waitFor('the ReplicaSet to create the pod', () => (pods('plain').length ? pods('plain') : undefined), 60_000, 250);
    assert.equal(pod!.status.phase, 'Pending', 'no kubelet: never scheduled');
    assert.equal(pod!.spec.containers[0].image, 'ws2otel:0.1.0');
    assert.doesNotMatch(events('plain'), /violates PodSecurity/);
  });

  it('a pod that breaks restricted is refused in the same namespace (the admission above can fail)', async () => {
    restrictedNamespace('loose');
    const install = cluster.helm('install', 'ws2otel', CHART, '-n', 'loose', '--set', 'securityContext.allowPrivilegeEscalation=true');
    assert.equal(install.status, 0, install.stdout + install.stderr);
    const refused = await waitFor('the ReplicaSet to report the refusal', () => /violates PodSecurity "restricted:latest": allowPrivilegeEscalation/.test(events('loose')), 60_000, 250);
    assert.ok(refused);
    assert.deepEqual(pods('loose'), []);
  });

  it('disk-buffer values: a StatefulSet whose pod and volume claim are created, admitted under restricted', async () => {
    restrictedNamespace('disk');
    const secret = cluster.kubectl('create', 'secret', 'generic', 'ws2otel-credentials', '-n', 'disk', '--from-literal=mist-token=t');
    assert.equal(secret.status, 0, secret.stderr);
    const install = cluster.helm('install', 'ws2otel', CHART, '-n', 'disk', '-f', DISK_VALUES);
    assert.equal(install.status, 0, install.stdout + install.stderr);
    get('disk', 'statefulset/ws2otel');
    get('disk', 'service/ws2otel-headless');
    const [pod] = await waitFor('the StatefulSet to create its pod', () => (pods('disk').length ? pods('disk') : undefined), 60_000, 250);
    assert.equal(pod!.metadata.name, 'ws2otel-0');
    const claim = get('disk', 'persistentvolumeclaim/data-ws2otel-0');
    assert.equal(claim.spec.resources.requests.storage, '10Gi');
    assert.doesNotMatch(events('disk'), /violates PodSecurity/);
  });

  it('helm upgrade changes the release in place, and helm uninstall removes what it installed', () => {
    const upgrade = cluster.helm('upgrade', 'ws2otel', CHART, '-n', 'disk', '-f', DISK_VALUES, '--set', 'config.log_level=debug');
    assert.equal(upgrade.status, 0, upgrade.stdout + upgrade.stderr);
    assert.match(upgrade.stdout, /REVISION: 2/);
    assert.match(get('disk', 'configmap/ws2otel').data['config.yaml'], /log_level: debug/);
    const uninstall = cluster.helm('uninstall', 'ws2otel', '-n', 'disk', '--wait');
    assert.equal(uninstall.status, 0, uninstall.stdout + uninstall.stderr);
    for (const what of ['statefulsets', 'services', 'configmaps', 'serviceaccounts', 'poddisruptionbudgets']) {
      const left = (get('disk', what).items as Obj[]).map((o) => o.metadata.name).filter((n) => n.startsWith('ws2otel'));
      assert.deepEqual(left, [], `${what} left behind`);
    }
    // Kubernetes keeps a StatefulSet's claims on purpose (the buffered data); deploy/README.md says so.
    assert.equal(cluster.kubectl('get', 'persistentvolumeclaim/data-ws2otel-0', '-n', 'disk').status, 0);
    assert.equal(cluster.helm('list', '-n', 'disk', '-q').stdout.trim(), '');
  });
});
