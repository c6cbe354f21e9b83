import { Points, type Attributes, type Envelope, type LogRecord, type MetricDesc, type Scope } from '../../model.js';
import { compileRules, extractPoints, mergeRules, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { severityByRules, type SeverityRule } from '../../mapping/severity.js';
import { DEFAULT_LIMITS, type FrameLimits } from '../../mapping/values.js';
import { StateGauges, type StateSpec } from '../../mapping/states.js';

// Forcepoint SMC frames → metric points and log records. The tables are data: a source's `metrics`
// config block adds to or overrides STATUS_METRICS by path (see mergeRules), and a `drop: true` (or a
// numeric rule) for a STATUS_STATES path replaces that state metric too.

/** Status socket: the fields of `{"status":{"status":{…}}}` (seed: smc-element-status.txt). */
export const STATUS_METRICS: readonly MetricRule[] = [
  { path: 'health_in_percent', metric: 'smc.element.health', unit: '%', type: 'gauge', description: 'Element health as the SMC rates it' },
  { path: 'latency_in_ms', metric: 'smc.element.latency', unit: 'ms', type: 'gauge', description: 'Latency (VPN tunnels, links)' },
  { path: 'jitter_in_ms', metric: 'smc.element.jitter', unit: 'ms', type: 'gauge', description: 'Jitter (VPN tunnels, links)' },
  // Permyriad (1/10,000) → percent: 361 → 3.61 %, the same unit as health.
  { path: 'packet_loss_in_permyriad', metric: 'smc.element.packet_loss', unit: '%', type: 'gauge', scale: 0.01, description: 'Packet loss' },
  { path: 'traffic_in_bits_per_sec', metric: 'smc.element.traffic', unit: 'bit/s', type: 'gauge', description: 'Traffic, both directions' },
  { path: 'inbound_traffic_in_bits_per_sec', metric: 'smc.element.traffic.inbound', unit: 'bit/s', type: 'gauge', description: 'Inbound traffic' },
  { path: 'outbound_traffic_in_bits_per_sec', metric: 'smc.element.traffic.outbound', unit: 'bit/s', type: 'gauge', description: 'Outbound traffic' },
  { path: 'connection_count', metric: 'smc.element.connections', unit: '{connection}', type: 'gauge', int: true, description: 'Open connections' },
];

/**
 * String fields that are a state: one gauge point per possible value, 1 for the current one and 0 for
 * the others (the OpenTelemetry `hw.status` pattern, the shared StateGauges), so a Grafana state
 * timeline or an alert on `{state="ERROR"} == 1` works and a state change never leaves a stale series
 * at 1. `values` are the documented ones; values the SMC sends beyond them join the set for that element.
 */
export interface StateRule extends StateSpec {
  /** The status field holding the state. */
  path: string;
  attribute: string;
}

export const STATUS_STATES: readonly StateRule[] = [
  {
    path: 'monitoring_state', metric: 'smc.element.monitoring.state', attribute: 'state', description: 'Monitoring connection state (1 = current)',
    values: ['INITIAL', 'READY', 'NO_STATUS', 'TIMEOUT', 'ERROR', 'SERVER_ERROR', 'DELETED', 'DUMMY'],
  },
  {
    path: 'monitoring_status', metric: 'smc.element.monitoring.status', attribute: 'state', description: 'Monitored status (1 = current)',
    values: ['ANY', 'NOT_MONITORED', 'UNKNOWN', 'OK', 'PARTIAL_OK', 'WARNING', 'ERROR', 'IDLE'],
  },
  { path: 'vpn_status_code', metric: 'smc.element.vpn.status', attribute: 'state', description: 'VPN status (1 = current)', values: [] },
  { path: 'configuration_status', metric: 'smc.element.configuration.status', attribute: 'state', description: 'Engine configuration status (1 = current)', values: [] },
  { path: 'engine_node_status', metric: 'smc.element.node.status', attribute: 'state', description: 'Engine node status (1 = current)', values: [] },
  { path: 'replication_status', metric: 'smc.element.replication.status', attribute: 'state', description: 'Server replication status (1 = current)', values: [] },
  { path: 'installed_policy', metric: 'smc.element.policy.installed', attribute: 'policy', description: 'Installed policy (1 = current)', values: [] },
];

/** Notification event types → severity (the SMC does not grade them): removals stand out. */
export const EVENT_SEVERITY: readonly SeverityRule[] = [
  { match: /^(delete|trashed)$/i, severity: 'WARN' },
];

/** The element's type (its RelName: host, router, single_fw, vpn, …): the path segment after /elements/. */
export function elementType(href: string): string | undefined {
  return /\/elements\/([^/?#]+)/.exec(href)?.[1];
}

/** An href as the SMC writes them: absolute, with an `/elements/` part. */
function isHref(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 2048 && /^https?:\/\/.*\/elements\//.test(v);
}

/**
 * Which element a status is about when its subscription was a whole family (`{"context": type}` on the
 * status socket). How a real SMC names the element there is unconfirmed, so whatever identity the frame
 * carries is taken: an href inside the status (`href`, `element`), in the `status` wrapper or the frame
 * itself, and the status's `name`. Undefined when it carries neither (its points could not be told apart
 * from another element's).
 */
export function statusIdentity(frame: Record<string, unknown>, inner: Record<string, unknown>): { href?: string; name?: string } | undefined {
  const outer = frame.status as Record<string, unknown>;
  const href = [inner.href, inner.element, outer.href, outer.element, frame.element].find(isHref);
  const name = typeof inner.name === 'string' && inner.name !== '' ? inner.name : undefined;
  if (href === undefined && name === undefined) return undefined;
  return { ...(href !== undefined ? { href } : {}), ...(name !== undefined ? { name } : {}) };
}

const MEMBERS: MetricDesc = {
  name: 'smc.element.members', unit: '{member}', description: 'Members the status lists (a VPN\'s tunnels, …), per member type', kind: 'gauge', int: true,
};

export class SmcMapping {
  private readonly rules: CompiledRule[];
  private readonly states: StateRule[];
  private readonly scope: Scope;
  /** Per element (href, else name): the undocumented state values seen (bounded). */
  private readonly gauges = new StateGauges();

  constructor(
    private readonly source: string,
    overrides: readonly MetricRule[],
    private readonly staticResource: Attributes,
    version: string,
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
  ) {
    this.rules = compileRules(mergeRules(STATUS_METRICS, overrides));
    const replaced = new Set(overrides.map((r) => r.path));
    this.states = STATUS_STATES.filter((s) => !replaced.has(s.path));
    this.scope = { name: 'ws2otel/smc', version };
  }

  /**
   * One `status` frame: `status` is the inner object; `href` is the element the subscription named (an
   * element subscription's frames do not say which element they are about) or the one the frame named
   * (a family subscription's). `family` is that subscription's element type. Arrival time: the SMC gives none.
   */
  status(href: string | undefined, status: Record<string, unknown>, receivedMs: number, family?: string): Envelope {
    const resource: Attributes = { ...this.staticResource };
    if (href) resource['smc.element.href'] = href;
    const type = href ? elementType(href) : undefined;
    if (type) resource['smc.element.type'] = type;
    // The family's name is not a RelName (fw_single vs single_fw in hrefs): it gets its own attribute.
    if (family) resource['smc.status.context'] = family;
    if (typeof status.name === 'string') resource['smc.element.name'] = status.name;

    const metrics = new Points();
    extractPoints(status, this.rules, receivedMs, receivedMs, metrics, this.limits.points_per_frame);
    const name = String(status.name ?? '');
    this.statePoints(href ?? (family ? `${family}/${name}` : name), status, receivedMs, metrics);
    this.memberPoints(status.result, receivedMs, metrics);
    return { source: this.source, resource, scope: this.scope, metrics, logs: [], receivedMs };
  }

  private statePoints(key: string, status: Record<string, unknown>, t: number, out: Points): void {
    for (const rule of this.states) {
      const current = status[rule.path];
      if (typeof current === 'string') this.gauges.points(rule, key, current, t, {}, out);
    }
  }

  /** `result`: the element's members (a VPN's tunnels…), counted per member type. */
  private memberPoints(result: unknown, t: number, out: Points): void {
    if (!Array.isArray(result)) return;
    const byType = new Map<string, number>();
    for (const m of result) {
      if (byType.size > this.limits.points_per_frame) break; // the session cuts to the cap and counts
      const type = typeof (m as { type?: unknown })?.type === 'string' ? (m as { type: string }).type : 'unknown';
      byType.set(type, (byType.get(type) ?? 0) + 1);
    }
    for (const [type, n] of byType) {
      out.add(MEMBERS, n, t, t, { 'smc.member.type': type });
    }
  }

  /**
   * One notification frame: `{"event":{type,element}}`, or the API ≤ 6.5 list form
   * `{"events":[{type,element},…]}`. Returns undefined when no event in it has a type and element.
   */
  events(frame: { event?: unknown; events?: unknown }, sub: { id: number; context?: string }, receivedMs: number): Envelope | undefined {
    const list = Array.isArray(frame.events) ? frame.events : [frame.event];
    const logs: LogRecord[] = [];
    for (const ev of list) {
      if (logs.length > this.limits.records_per_frame) break; // the session cuts to the cap and counts
      const e = ev as { type?: unknown; element?: unknown } | null;
      if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.element !== 'string') continue;
      const attributes: Attributes = { 'smc.event.type': e.type, 'smc.element.href': e.element, 'smc.subscription.id': sub.id };
      const type = elementType(e.element);
      if (type) attributes['smc.element.type'] = type;
      if (sub.context !== undefined) attributes['smc.subscription.context'] = sub.context;
      logs.push({
        timeMs: receivedMs,
        observedMs: receivedMs,
        ...severityByRules(e.type, EVENT_SEVERITY),
        body: `${e.type} ${e.element}`,
        eventName: `smc.element.${e.type}`,
        attributes,
      });
    }
    if (logs.length === 0) return undefined;
    return { source: this.source, resource: { ...this.staticResource }, scope: this.scope, metrics: new Points(), logs, receivedMs };
  }
}
