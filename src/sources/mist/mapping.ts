import { Points, type Attributes, type Envelope, type LogRecord, type Scope } from '../../model.js';
import { compileRules, extractAttributes, extractPoints, mergeRules, type AttributeRule, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { severityByRules, type SeverityRule } from '../../mapping/severity.js';
import { DEFAULT_LIMITS, briefJson, type FrameLimits } from '../../mapping/values.js';

// Mist payload → metric points and log records. The tables are data, one per kind of `/stats/`
// channel: a source's `metrics` block adds to or overrides DEVICE_STATS by path (see mergeRules), its
// `kind_metrics.<kind>` blocks do the same for the other kinds' tables.

/** `/sites/{site}/stats/devices`: one device's stats per frame (seed: mist-websocket-stream.txt). */
export const DEVICE_STATS: readonly MetricRule[] = [
  { path: 'uptime', metric: 'mist.device.uptime', unit: 's', type: 'gauge', description: 'Time since the device booted', int: true },
  { path: 'last_seen', metric: 'mist.device.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard from the device (epoch seconds)', int: true },
  { path: 'num_clients', metric: 'mist.device.clients', unit: '{client}', type: 'gauge', description: 'Wireless clients associated', int: true },
  { path: 'cpu_util', metric: 'mist.device.cpu.utilization', unit: '%', type: 'gauge', description: 'CPU utilization' },
  { path: 'mem_used_kb', metric: 'mist.device.memory.used', unit: 'By', type: 'gauge', scale: 1024, int: true, description: 'Memory in use' },
  { path: 'mem_total_kb', metric: 'mist.device.memory.total', unit: 'By', type: 'gauge', scale: 1024, int: true, description: 'Memory installed' },
  { path: 'tx_bytes', metric: 'mist.device.tx.bytes', unit: 'By', type: 'counter', description: 'Bytes sent by the device' },
  { path: 'rx_bytes', metric: 'mist.device.rx.bytes', unit: 'By', type: 'counter', description: 'Bytes received by the device' },
  { path: 'tx_pkts', metric: 'mist.device.tx.packets', unit: '{packet}', type: 'counter', description: 'Packets sent by the device' },
  { path: 'rx_pkts', metric: 'mist.device.rx.packets', unit: '{packet}', type: 'counter', description: 'Packets received by the device' },
  { path: 'ble_stat.tx_pkts', metric: 'mist.device.ble.tx.packets', unit: '{packet}', type: 'counter', description: 'BLE packets sent' },
  { path: 'ble_stat.tx_bytes', metric: 'mist.device.ble.tx.bytes', unit: 'By', type: 'counter', description: 'BLE bytes sent' },
  { path: 'ble_stat.rx_pkts', metric: 'mist.device.ble.rx.packets', unit: '{packet}', type: 'counter', description: 'BLE packets received' },
  { path: 'ble_stat.rx_bytes', metric: 'mist.device.ble.rx.bytes', unit: 'By', type: 'counter', description: 'BLE bytes received' },
  { path: 'ble_stat.tx_resets', metric: 'mist.device.ble.tx.resets', unit: '{reset}', type: 'counter', description: 'BLE transmitter resets' },
  // Access points: per radio (band_24, band_5, band_6) and per port (eth0, …).
  { path: 'radio_stat.*.num_clients', metric: 'mist.device.radio.clients', unit: '{client}', type: 'gauge', int: true, key_attribute: 'radio', description: 'Clients per radio' },
  { path: 'radio_stat.*.channel', metric: 'mist.device.radio.channel', unit: '1', type: 'gauge', int: true, key_attribute: 'radio', description: 'Radio channel number' },
  { path: 'radio_stat.*.power', metric: 'mist.device.radio.power', unit: 'dBm', type: 'gauge', key_attribute: 'radio', description: 'Transmit power' },
  { path: 'radio_stat.*.noise_floor', metric: 'mist.device.radio.noise_floor', unit: 'dBm', type: 'gauge', key_attribute: 'radio', description: 'Noise floor' },
  { path: 'radio_stat.*.util_all', metric: 'mist.device.radio.utilization', unit: '%', type: 'gauge', key_attribute: 'radio', description: 'Channel utilization' },
  { path: 'radio_stat.*.tx_bytes', metric: 'mist.device.radio.tx.bytes', unit: 'By', type: 'counter', key_attribute: 'radio', description: 'Bytes sent per radio' },
  { path: 'radio_stat.*.rx_bytes', metric: 'mist.device.radio.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'radio', description: 'Bytes received per radio' },
  { path: 'port_stat.*.up', metric: 'mist.device.port.up', unit: '1', type: 'gauge', int: true, key_attribute: 'port', description: '1 when the port link is up' },
  { path: 'port_stat.*.tx_bytes', metric: 'mist.device.port.tx.bytes', unit: 'By', type: 'counter', key_attribute: 'port', description: 'Bytes sent per port' },
  { path: 'port_stat.*.rx_bytes', metric: 'mist.device.port.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'port', description: 'Bytes received per port' },
  { path: 'port_stat.*.tx_pkts', metric: 'mist.device.port.tx.packets', unit: '{packet}', type: 'counter', key_attribute: 'port', description: 'Packets sent per port' },
  { path: 'port_stat.*.rx_pkts', metric: 'mist.device.port.rx.packets', unit: '{packet}', type: 'counter', key_attribute: 'port', description: 'Packets received per port' },
  { path: 'port_stat.*.rx_errors', metric: 'mist.device.port.rx.errors', unit: '{error}', type: 'counter', key_attribute: 'port', description: 'Receive errors per port' },
];

/** Device identity → resource attributes (OpenTelemetry `device.*` where one fits, `mist.*` otherwise). */
export const DEVICE_RESOURCE: readonly AttributeRule[] = [
  { path: 'mac', attribute: 'device.id' },
  { path: 'name', attribute: 'device.name' },
  { path: 'model', attribute: 'device.model.identifier' },
  { path: 'type', attribute: 'mist.device.type' },
  { path: 'version', attribute: 'mist.device.version' },
  { path: 'site_id', attribute: 'mist.site.id' },
  { path: 'org_id', attribute: 'mist.org.id' },
];

// Field names below are Mist's documented stats objects (StatsWirelessClient, StatsMxedge,
// StatsUnconnectedClient, StatsSdkclient, StatsAsset); examples in test/fixtures/mist.ts.

/**
 * `/sites/{site}/stats/clients`: one wireless client per frame. A client is not a Mist device: it is
 * named by its own `mist.client.*` resource, and the AP it is on is a point attribute, so a client
 * that roams stays one series set with a changing `mist.ap.mac`.
 */
export const CLIENT_STATS: readonly MetricRule[] = [
  { path: 'rssi', metric: 'mist.client.rssi', unit: 'dBm', type: 'gauge', description: 'Signal strength the AP hears from the client' },
  { path: 'snr', metric: 'mist.client.snr', unit: 'dB', type: 'gauge', description: 'Signal over noise' },
  { path: 'channel', metric: 'mist.client.channel', unit: '1', type: 'gauge', int: true, description: 'Radio channel the client is on' },
  { path: 'uptime', metric: 'mist.client.uptime', unit: 's', type: 'gauge', description: 'Time since the client connected' },
  { path: 'idle_time', metric: 'mist.client.idle_time', unit: 's', type: 'gauge', description: 'Time since the last packet from the client' },
  { path: 'last_seen', metric: 'mist.client.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard from the client (epoch seconds)' },
  { path: 'tx_bytes', metric: 'mist.client.tx.bytes', unit: 'By', type: 'counter', description: 'Bytes sent to the client since it connected' },
  { path: 'rx_bytes', metric: 'mist.client.rx.bytes', unit: 'By', type: 'counter', description: 'Bytes received from the client since it connected' },
  { path: 'tx_packets', metric: 'mist.client.tx.packets', unit: '{packet}', type: 'counter', description: 'Packets sent to the client' },
  { path: 'rx_packets', metric: 'mist.client.rx.packets', unit: '{packet}', type: 'counter', description: 'Packets received from the client' },
  { path: 'tx_retries', metric: 'mist.client.tx.retries', unit: '{retry}', type: 'counter', description: 'Transmit retries to the client' },
  { path: 'rx_retries', metric: 'mist.client.rx.retries', unit: '{retry}', type: 'counter', description: 'Receive retries from the client' },
  { path: 'tx_rate', metric: 'mist.client.tx.rate', unit: 'Mbit/s', type: 'gauge', description: 'Transmit PHY rate' },
  { path: 'rx_rate', metric: 'mist.client.rx.rate', unit: 'Mbit/s', type: 'gauge', description: 'Receive PHY rate' },
  { path: 'tx_bps', metric: 'mist.client.tx.throughput', unit: 'bit/s', type: 'gauge', description: 'Traffic to the client, last known' },
  { path: 'rx_bps', metric: 'mist.client.rx.throughput', unit: 'bit/s', type: 'gauge', description: 'Traffic from the client, last known' },
  { path: 'x', metric: 'mist.client.location.x', unit: '{pixel}', type: 'gauge', description: 'Estimated position on its map' },
  { path: 'y', metric: 'mist.client.location.y', unit: '{pixel}', type: 'gauge', description: 'Estimated position on its map' },
];

/** A wireless client's identity. */
export const CLIENT_RESOURCE: readonly AttributeRule[] = [
  { path: 'mac', attribute: 'mist.client.mac' },
  { path: 'hostname', attribute: 'mist.client.hostname' },
  { path: 'manufacture', attribute: 'mist.client.manufacturer' },
  { path: 'family', attribute: 'mist.client.family' },
  { path: 'model', attribute: 'mist.client.model' },
  { path: 'os', attribute: 'mist.client.os' },
  { path: 'site_id', attribute: 'mist.site.id' },
];

/** Where a client is attached: changes as it roams, so it is on the points, not the resource. */
export const CLIENT_POINT_ATTRIBUTES: readonly AttributeRule[] = [
  { path: 'ap_mac', attribute: 'mist.ap.mac' },
  { path: 'ssid', attribute: 'mist.wlan.ssid' },
  { path: 'band', attribute: 'mist.wlan.band' },
];

/** `/sites/{site}/stats/mxedges` and `/orgs/{org}/stats/mxedges`: one Mist Edge appliance per frame. */
export const MXEDGE_STATS: readonly MetricRule[] = [
  { path: 'uptime', metric: 'mist.mxedge.uptime', unit: 's', type: 'gauge', int: true, description: 'Time since the Mist Edge booted' },
  { path: 'last_seen', metric: 'mist.mxedge.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard from the Mist Edge (epoch seconds)' },
  { path: 'num_tunnels', metric: 'mist.mxedge.tunnels', unit: '{tunnel}', type: 'gauge', int: true, description: 'Tunnels terminated' },
  { path: 'cpu_stat.usage', metric: 'mist.mxedge.cpu.utilization', unit: '%', type: 'gauge', description: 'CPU utilization' },
  { path: 'memory_stat.usage', metric: 'mist.mxedge.memory.utilization', unit: '%', type: 'gauge', description: 'Memory utilization' },
  { path: 'port_stat.*.up', metric: 'mist.mxedge.port.up', unit: '1', type: 'gauge', int: true, key_attribute: 'port', description: '1 when the port link is up' },
  { path: 'port_stat.*.tx_bytes', metric: 'mist.mxedge.port.tx.bytes', unit: 'By', type: 'counter', key_attribute: 'port', description: 'Bytes sent per port' },
  { path: 'port_stat.*.rx_bytes', metric: 'mist.mxedge.port.rx.bytes', unit: 'By', type: 'counter', key_attribute: 'port', description: 'Bytes received per port' },
  { path: 'port_stat.*.tx_pkts', metric: 'mist.mxedge.port.tx.packets', unit: '{packet}', type: 'counter', key_attribute: 'port', description: 'Packets sent per port' },
  { path: 'port_stat.*.rx_pkts', metric: 'mist.mxedge.port.rx.packets', unit: '{packet}', type: 'counter', key_attribute: 'port', description: 'Packets received per port' },
  { path: 'port_stat.*.rx_errors', metric: 'mist.mxedge.port.rx.errors', unit: '{error}', type: 'counter', key_attribute: 'port', description: 'Receive errors per port' },
  { path: 'port_stat.*.tx_errors', metric: 'mist.mxedge.port.tx.errors', unit: '{error}', type: 'counter', key_attribute: 'port', description: 'Transmit errors per port' },
];

/** A Mist Edge is Juniper hardware (or its VM): a device, but with its own `mist.mxedge.*` metrics. */
export const MXEDGE_RESOURCE: readonly AttributeRule[] = [
  { path: 'mac', attribute: 'device.id' },
  { path: 'name', attribute: 'device.name' },
  { path: 'model', attribute: 'device.model.identifier' },
  { path: 'id', attribute: 'mist.mxedge.id' },
  { path: 'mxcluster_id', attribute: 'mist.mxcluster.id' },
  { path: 'site_id', attribute: 'mist.site.id' },
  { path: 'org_id', attribute: 'mist.org.id' },
];

const location = (prefix: string): MetricRule[] => [
  { path: 'x', metric: `${prefix}.location.x`, unit: '{pixel}', type: 'gauge', description: 'Estimated position on the map' },
  { path: 'y', metric: `${prefix}.location.y`, unit: '{pixel}', type: 'gauge', description: 'Estimated position on the map' },
];

/** `/stats/maps/{map}/clients`: where connected wireless clients are on the map. */
export const MAP_CLIENT_STATS: readonly MetricRule[] = [
  ...location('mist.client'),
  { path: 'accuracy', metric: 'mist.client.location.accuracy', unit: 'm', type: 'gauge', description: 'Estimated location accuracy' },
];

/** `/stats/maps/{map}/unconnected_clients`: devices heard by APs but not associated. */
export const UNCONNECTED_CLIENT_STATS: readonly MetricRule[] = [
  { path: 'rssi', metric: 'mist.unconnected_client.rssi', unit: 'dBm', type: 'gauge', description: 'Signal strength the AP hears' },
  { path: 'last_seen', metric: 'mist.unconnected_client.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard it (epoch seconds)' },
  ...location('mist.unconnected_client'),
];

/** `/stats/maps/{map}/sdkclients`: phones running the Mist SDK. */
export const SDKCLIENT_STATS: readonly MetricRule[] = [
  { path: 'network_connection.rssi', metric: 'mist.sdkclient.rssi', unit: 'dBm', type: 'gauge', description: 'Signal strength of its network connection' },
  { path: 'last_seen', metric: 'mist.sdkclient.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard it (epoch seconds)' },
  ...location('mist.sdkclient'),
];

/** `/stats/maps/{map}/assets`: BLE tags the org knows. */
export const ASSET_STATS: readonly MetricRule[] = [
  { path: 'rssi', metric: 'mist.asset.rssi', unit: 'dBm', type: 'gauge', description: 'Signal strength the APs hear' },
  { path: 'battery_voltage', metric: 'mist.asset.battery.voltage', unit: 'V', type: 'gauge', scale: 0.001, description: 'Battery voltage (Mist reports mV)' },
  { path: 'temperature', metric: 'mist.asset.temperature', unit: 'Cel', type: 'gauge', description: 'Temperature the tag reports' },
  { path: 'last_seen', metric: 'mist.asset.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard it (epoch seconds)' },
  ...location('mist.asset'),
];

/** `/stats/maps/{map}/discovered_assets`: BLE beacons heard that the org does not know. */
export const DISCOVERED_ASSET_STATS: readonly MetricRule[] = [
  { path: 'rssi', metric: 'mist.discovered_asset.rssi', unit: 'dBm', type: 'gauge', description: 'Signal strength the APs hear' },
  { path: 'last_seen', metric: 'mist.discovered_asset.last_seen', unit: 's', type: 'gauge', description: 'When Mist last heard it (epoch seconds)' },
  ...location('mist.discovered_asset'),
];

/** What one kind of `/stats/` channel carries and how it maps. */
export interface StatsTable {
  metrics: readonly MetricRule[];
  resource: readonly AttributeRule[];
  /** Attributes every point of the frame gets (the AP a client is on). */
  pointAttributes?: readonly AttributeRule[];
  /** Juniper hardware: `device.manufacturer` is set. */
  juniper?: boolean;
}

export const STATS_KINDS = ['devices', 'clients', 'mxedges', 'map_clients', 'unconnected_clients', 'sdkclients', 'assets', 'discovered_assets'] as const;
export type StatsKind = (typeof STATS_KINDS)[number];

export const STATS_TABLES: Readonly<Record<StatsKind, StatsTable>> = {
  devices: { metrics: DEVICE_STATS, resource: DEVICE_RESOURCE, juniper: true },
  clients: { metrics: CLIENT_STATS, resource: CLIENT_RESOURCE, pointAttributes: CLIENT_POINT_ATTRIBUTES },
  mxedges: { metrics: MXEDGE_STATS, resource: MXEDGE_RESOURCE, juniper: true },
  map_clients: { metrics: MAP_CLIENT_STATS, resource: [{ path: 'mac', attribute: 'mist.client.mac' }] },
  unconnected_clients: {
    metrics: UNCONNECTED_CLIENT_STATS,
    resource: [{ path: 'mac', attribute: 'mist.unconnected_client.mac' }, { path: 'manufacture', attribute: 'mist.unconnected_client.manufacturer' }],
    pointAttributes: [{ path: 'ap_mac', attribute: 'mist.ap.mac' }],
  },
  sdkclients: {
    metrics: SDKCLIENT_STATS,
    resource: [{ path: 'id', attribute: 'mist.sdkclient.id' }, { path: 'uuid', attribute: 'mist.sdkclient.uuid' }, { path: 'name', attribute: 'mist.sdkclient.name' }],
  },
  assets: { metrics: ASSET_STATS, resource: [{ path: 'mac', attribute: 'mist.asset.mac' }, { path: 'name', attribute: 'mist.asset.name' }] },
  discovered_assets: {
    metrics: DISCOVERED_ASSET_STATS,
    resource: [{ path: 'mac', attribute: 'mist.discovered_asset.mac' }, { path: 'manufacture', attribute: 'mist.discovered_asset.manufacturer' }],
  },
};

/** In a device event, `type` is the event's type: the device's identity comes from these fields. */
export const EVENT_RESOURCE: readonly AttributeRule[] = [
  { path: 'mac', attribute: 'device.id' },
  { path: 'device_name', attribute: 'device.name' },
  { path: 'model', attribute: 'device.model.identifier' },
  { path: 'device_type', attribute: 'mist.device.type' },
  { path: 'site_id', attribute: 'mist.site.id' },
  { path: 'org_id', attribute: 'mist.org.id' },
];

/** Device event types → severity, first match wins (Mist names events, it does not grade them). */
export const EVENT_SEVERITY: readonly SeverityRule[] = [
  { match: /FAIL|ERROR|CRASH|DOWN|DISCONNECT|LOST|OFFLINE|REJECT|UNREACHABLE|BAD/i, severity: 'WARN' },
  { match: /RESTART|REBOOT|UPGRADE|RECONNECT|CONFIG/i, severity: 'INFO' },
];

/** Event fields that are the record's body or time rather than attributes. */
const EVENT_NOT_ATTRIBUTES = new Set(['text', 'timestamp', '_time']);

const SITE_RE = /^\/sites\/([^/]+)\//;
const ORG_RE = /^\/orgs\/([^/]+)\//;
const STATS_RE = /^\/(?:sites|orgs)\/[^/]+\/stats\/(devices|clients|mxedges)$/;
const MAP_STATS_RE = /^\/sites\/[^/]+\/stats\/maps\/([^/]+)\/(clients|unconnected_clients|sdkclients|assets|discovered_assets)$/;

export type ChannelKind = 'stats' | 'events';

/** `/sites/{id}/stats/...` and `/orgs/{id}/stats/...` carry samples; the other channels carry events. */
export function channelKind(channel: string): ChannelKind {
  return /\/stats\//.test(channel) ? 'stats' : 'events';
}

/** Which object a `/stats/` channel carries, and the map it is about (map channels); undefined: none we know. */
export function statsKind(channel: string): { kind: StatsKind; map?: string } | undefined {
  const s = STATS_RE.exec(channel);
  if (s) return { kind: s[1] as StatsKind };
  const m = MAP_STATS_RE.exec(channel);
  if (m) return { kind: m[2] === 'clients' ? 'map_clients' : (m[2] as StatsKind), map: m[1]! };
  return undefined;
}

/** Per kind: the default table merged with that kind's config overrides, compiled once. */
interface CompiledKind {
  table: StatsTable;
  rules: CompiledRule[];
}

/**
 * Which events share a resource: its keys, value types and values, without a JSON text per event.
 * Unambiguous because a value never holds NUL (the session and the data decoding strip it).
 */
function resourceKey(resource: Attributes): string {
  let key = '';
  for (const k in resource) {
    const v = resource[k]!;
    key += `${k}\u0000${typeof v === 'string' ? 's' : typeof v === 'number' ? 'n' : 'b'}${v}\u0001`;
  }
  return key;
}

export class MistMapping {
  private readonly kinds: Record<StatsKind, CompiledKind>;
  private readonly scope: Scope;

  constructor(
    private readonly source: string,
    /** The source's `metrics` block: overrides for the devices table, as for every vendor. */
    overrides: readonly MetricRule[],
    private readonly staticResource: Attributes,
    version: string,
    /** Work per frame stops just past these (the session cuts to them and counts). */
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
    /** The source's `kind_metrics` block: the same kind of overrides for every other kind's table. */
    kindOverrides: Partial<Record<StatsKind, readonly MetricRule[]>> = {},
  ) {
    const kinds = {} as Record<StatsKind, CompiledKind>;
    for (const kind of STATS_KINDS) {
      const table = STATS_TABLES[kind];
      const over = kind === 'devices' ? overrides : (kindOverrides[kind] ?? []);
      kinds[kind] = { table, rules: compileRules(mergeRules(table.metrics, over)) };
    }
    this.kinds = kinds;
    this.scope = { name: 'ws2otel/mist', version };
  }

  /** What a channel name says, read once per channel (a connection has at most a few hundred). */
  private readonly channelFacts = new Map<string, { stats: ReturnType<typeof statsKind>; base: Attributes; juniperBase: Attributes }>();

  private factsOf(channel: string) {
    let f = this.channelFacts.get(channel);
    if (f) return f;
    const fromName: Attributes = {};
    const site = SITE_RE.exec(channel);
    if (site) fromName['mist.site.id'] = site[1]!;
    const org = ORG_RE.exec(channel);
    if (org) fromName['mist.org.id'] = org[1]!;
    f = {
      stats: statsKind(channel),
      base: { ...this.staticResource, ...fromName },
      juniperBase: { 'device.manufacturer': 'Juniper Mist', ...this.staticResource, ...fromName },
    };
    if (this.channelFacts.size < 1024) this.channelFacts.set(channel, f);
    return f;
  }

  private resourceFor(channel: string, payload: unknown, rules: readonly AttributeRule[], juniper: boolean): Attributes {
    const f = this.factsOf(channel);
    return extractAttributes(payload, rules, { ...(juniper ? f.juniperBase : f.base) });
  }

  /**
   * One stats sample → one envelope of points stamped with the sample's own `_time`, mapped by the
   * table of the object the channel carries. A `/stats/` channel of no known kind yields no points
   * (counted as `unmapped`): guessing it is a device is how clients once became devices.
   */
  stats(channel: string, payload: Record<string, unknown>, receivedMs: number): Envelope {
    const which = this.factsOf(channel).stats;
    if (!which) return { source: this.source, resource: { ...this.staticResource }, scope: this.scope, metrics: new Points(), logs: [], receivedMs };
    const { table, rules } = this.kinds[which.kind];
    const t = typeof payload._time === 'number' ? payload._time * 1000 : receivedMs;
    // Counters restart at boot (devices) or at association (clients): uptime dates that start; otherwise the sample itself does.
    const start = typeof payload.uptime === 'number' ? t - payload.uptime * 1000 : t;
    const metrics = new Points();
    extractPoints(payload, rules, t, start, metrics, this.limits.points_per_frame);
    if (table.pointAttributes && metrics.length > 0) {
      const extra = extractAttributes(payload, table.pointAttributes, {});
      if (Object.keys(extra).length > 0) {
        // Points of one `*` key share an attributes object: each distinct one is merged once.
        const merged = new Map<Attributes, Attributes>();
        const attrs = metrics.attributes;
        for (let i = 0; i < attrs.length; i++) {
          let m = merged.get(attrs[i]!);
          if (m === undefined) merged.set(attrs[i]!, (m = { ...attrs[i], ...extra }));
          attrs[i] = m;
        }
      }
    }
    const resource = this.resourceFor(channel, payload, table.resource, table.juniper === true);
    if (which.map !== undefined) resource['mist.map.id'] = which.map;
    return { source: this.source, resource, scope: this.scope, metrics, logs: [], receivedMs };
  }

  /** A device event channel frame: one event object, or `{events:[...]}` as Mist's webhooks batch them. */
  events(channel: string, payload: Record<string, unknown>, receivedMs: number): Envelope[] {
    const list = Array.isArray(payload.events) ? (payload.events as unknown[]) : [payload];
    const byDevice = new Map<string, Envelope>();
    let records = 0;
    for (const ev of list) {
      // One past a cap is enough for the session to see the frame was cut.
      if (records > this.limits.records_per_frame || byDevice.size > this.limits.envelopes_per_frame) break;
      if (typeof ev !== 'object' || ev === null) continue;
      records++;
      const e = ev as Record<string, unknown>;
      const resource = this.resourceFor(channel, e, EVENT_RESOURCE, true);
      const key = resourceKey(resource);
      let env = byDevice.get(key);
      if (!env) byDevice.set(key, (env = { source: this.source, resource, scope: this.scope, metrics: new Points(), logs: [], receivedMs }));
      env.logs.push(this.eventRecord(channel, e, receivedMs));
    }
    return [...byDevice.values()];
  }

  private eventRecord(channel: string, e: Record<string, unknown>, receivedMs: number): LogRecord {
    const type = typeof e.type === 'string' ? e.type : '';
    const ts = typeof e.timestamp === 'number' ? e.timestamp * 1000 : typeof e._time === 'number' ? e._time * 1000 : receivedMs;
    const attributes: Attributes = { 'mist.channel': channel };
    let n = 0;
    for (const k in e) {
      if (n++ > this.limits.attributes_per_record) break; // the session cuts to the cap and counts
      const v = e[k];
      if (EVENT_NOT_ATTRIBUTES.has(k)) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[`mist.event.${k}`] = v;
    }
    const text = typeof e.text === 'string' && e.text !== '' ? e.text : '';
    return {
      timeMs: ts,
      observedMs: receivedMs,
      ...severityByRules(type, EVENT_SEVERITY),
      body: text || type || briefJson(e),
      ...(type ? { eventName: `mist.${type}` } : {}),
      attributes,
    };
  }
}
