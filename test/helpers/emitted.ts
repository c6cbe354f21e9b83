import type { MetricPoint } from '../../src/model.js';
import type { MetricRule } from '../../src/mapping/rules.js';
import { Registry } from 'prom-client';
import { registry, sourceMetrics } from '../../src/telemetry/metrics.js';
import type { Protocol } from '../../src/sources/protocol.js';
import { ProtocolSource } from '../../src/sources/protocol_source.js';
import { CaptureEmitter, silentLog } from './capture.js';
import { DEVICE_STATS, MistMapping } from '../../src/sources/mist/mapping.js';
import { STATUS_METRICS, STATUS_STATES, SmcMapping } from '../../src/sources/smc/mapping.js';
import { MO_METRICS, NxapiMapping } from '../../src/sources/nxapi/mapping.js';
import { DEFAULT_METRICS, STATE_RULES, SysadmMapping } from '../../src/sources/sysadm/mapping.js';
import { SEED_DEVICE_STATS_FRAME } from '../fixtures/mist.js';
import { SEED_NODE_STATUS, SEED_NODE_SUBSCRIBE, SEED_VPN_STATUS, SEED_VPN_SUBSCRIBE } from '../fixtures/smc.js';
import { prometheusName } from './promql.js';

// What ws2otel emits, derived from the code: the self-metrics registry, and every vendor mapping run on
// input built from its own default tables (so code-built metrics such as the SMC and sysadm state
// gauges and SMC member counts come out exactly as the mapping makes them) plus the seed examples.
// The generic `websocket` source has no defaults: its metrics are whatever its config says.

const T = 1_700_000_000_000;

/** Sets a dotted path in `obj`, a `*` segment becoming the key `k0`. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.').map((s) => (s === '*' ? 'k0' : s));
  let cur = obj;
  for (const s of segs.slice(0, -1)) {
    if (typeof cur[s] !== 'object' || cur[s] === null) cur[s] = {};
    cur = cur[s] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]!] = value;
}

function payloadFor(rules: readonly { path: string }[], value: unknown, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const r of rules) setPath(into, r.path, value);
  return into;
}

export interface VendorMetrics {
  vendor: string;
  /** OpenTelemetry names of the default rule table(s), to prove the synthetic input reached them all. */
  tableNames: Set<string>;
  points: Readonly<MetricPoint>[];
}

function mist(): VendorMetrics {
  const m = new MistMapping('mist', [], {}, '0.0.0');
  const points: Readonly<MetricPoint>[] = [];
  const payload = payloadFor(DEVICE_STATS, 1, { _time: T / 1000, uptime: 10, mac: '5c5b35000001' });
  points.push(...m.stats('/sites/s1/stats/devices', payload, T).metrics);
  // The seed frame (test/fixtures/mist.ts), as test/sources/mist/mapping.test.ts reads it.
  const frame = JSON.parse(SEED_DEVICE_STATS_FRAME) as { channel: string; data: string };
  points.push(...m.stats(frame.channel, JSON.parse(frame.data) as Record<string, unknown>, T).metrics);
  return { vendor: 'mist', tableNames: new Set(DEVICE_STATS.map((r) => r.metric)), points };
}

function smc(): VendorMetrics {
  const m = new SmcMapping('smc', [], {}, '0.0.0');
  const points: Readonly<MetricPoint>[] = [];
  const status = payloadFor(STATUS_METRICS, 1);
  payloadFor(STATUS_STATES, 'SOME_STATE', status);
  status.result = [{ type: 'gateway_tunnel' }];
  points.push(...m.status('https://smc:8082/7.2/elements/vpn/5', status, T).metrics);
  // The seed examples test/sources/smc/mapping.test.ts uses.
  for (const [sub, frame] of [[SEED_VPN_SUBSCRIBE, SEED_VPN_STATUS], [SEED_NODE_SUBSCRIBE, SEED_NODE_STATUS]] as const) {
    const href = (JSON.parse(sub) as { element: string }).element;
    const inner = (JSON.parse(frame) as { status: { status: Record<string, unknown> } }).status.status;
    points.push(...m.status(href, inner, T).metrics);
  }
  const tableNames = new Set([...STATUS_METRICS.map((r) => r.metric), ...STATUS_STATES.map((r) => r.metric), 'smc.element.members']);
  return { vendor: 'smc', tableNames, points };
}

function nxapi(): VendorMetrics {
  const m = new NxapiMapping('nxapi', [], {}, 'switch1', '0.0.0');
  // One managed object per class, holding every attribute the table reads for that class.
  const byClass = new Map<string, Record<string, unknown>>();
  for (const r of MO_METRICS as readonly MetricRule[]) {
    const [cls, , attribute] = r.path.split('.');
    let attrs = byClass.get(cls!);
    if (!attrs) byClass.set(cls!, (attrs = { dn: `sys/intf/phys-[eth1/1]/${cls!}` }));
    attrs[attribute!] = attribute === 'operSpeed' ? '10G' : attribute === 'adminSt' || attribute === 'operSt' ? 'up' : '1';
  }
  const imdata = [...byClass].map(([cls, attributes]) => ({ [cls]: { attributes } }));
  const points = m.snapshot('class/rmonIfIn', imdata, T).envelope.metrics.toArray();
  return { vendor: 'nxapi', tableNames: new Set(MO_METRICS.map((r) => r.metric)), points };
}

function sysadm(): VendorMetrics {
  const m = new SysadmMapping('sysadm', [], {}, '0.0.0');
  const args = payloadFor(DEFAULT_METRICS, 1);
  payloadFor(STATE_RULES, 'SOME_STATE', args);
  const points = [...m.poll(args, 'nas1', T).metrics, ...m.event('system-state', args, 'nas1', T).metrics];
  const tableNames = new Set([...DEFAULT_METRICS.map((r) => r.metric), ...STATE_RULES.map((r) => r.metric)]);
  return { vendor: 'sysadm', tableNames, points };
}

export function vendorMetrics(): VendorMetrics[] {
  return [mist(), smc(), nxapi(), sysadm()];
}

/** Prometheus name → the OpenTelemetry metric(s) it comes from (`name unit kind`). */
export function vendorPrometheusNames(): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of vendorMetrics()) {
    for (const p of v.points) out.set(prometheusName(p.name, p.unit, p.kind), `${p.name} ${p.unit} ${p.kind}`);
  }
  return out;
}

/**
 * What every source says about itself through the sinks (the `ws2otel.source.up` gauge), taken from a
 * real ProtocolSource's first emission, as Prometheus names (resource attributes become labels).
 */
export async function sourceSignalPrometheusNames(): Promise<Map<string, string>> {
  const capture = new CaptureEmitter();
  const protocol: Protocol = {
    // Never connects (the source stays blind) until stopped.
    connect: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
    open: () => ({}),
    frame: () => ({}),
    resource: () => ({}),
  };
  const cfg = {
    name: 'signals', type: 'test', resource: {}, metrics: [], reconnect: { initial_interval: 1000, max_interval: 1000 },
    keepalive: { interval: 60_000, timeout: 45_000 }, max_frame_bytes: 1024 * 1024, tls: { ca_file: '', insecure_skip_verify: false },
  };
  const source = new ProtocolSource(cfg, { emitter: capture, log: silentLog, metrics: sourceMetrics(new Registry()) }, [protocol]);
  source.start();
  await source.stop();
  const out = new Map<string, string>();
  for (const p of capture.health().flatMap((e) => e.metrics.toArray())) out.set(prometheusName(p.name, p.unit, p.kind), `${p.name} ${p.unit} ${p.kind}`);
  return out;
}

/**
 * Series names ws2otel's /metrics serves (prom-client's default process metrics carry the `ws2otel_`
 * prefix): a histogram's series are `_bucket`, `_sum` and `_count` only; a summary has its own name
 * (the quantiles) besides `_sum` and `_count`.
 */
export async function selfPrometheusNames(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    else out.add(m.name);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(m.name + s);
  }
  return out;
}
