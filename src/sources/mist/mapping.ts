import type { Attributes, Envelope, LogRecord, MetricPoint, Scope } from '../../model.js';
import { compileRules, extractAttributes, extractPoints, mergeRules, type AttributeRule, type CompiledRule, type MetricRule } from '../../mapping/rules.js';
import { severityByRules, type SeverityRule } from '../../mapping/severity.js';
import { DEFAULT_LIMITS, briefJson, type FrameLimits } from '../../mapping/values.js';

// Mist payload → metric points and log records. The tables are data: a source's `metrics` config
// block adds to or overrides DEVICE_STATS by path (see mergeRules).

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

export type ChannelKind = 'stats' | 'events';

/** `/sites/{id}/stats/...` and `/orgs/{id}/stats/...` carry samples; the other channels carry events. */
export function channelKind(channel: string): ChannelKind {
  return /\/stats\//.test(channel) ? 'stats' : 'events';
}

export class MistMapping {
  private readonly rules: CompiledRule[];
  private readonly scope: Scope;

  constructor(
    private readonly source: string,
    overrides: readonly MetricRule[],
    private readonly staticResource: Attributes,
    version: string,
    /** Work per frame stops just past these (the session cuts to them and counts). */
    private readonly limits: FrameLimits = DEFAULT_LIMITS,
  ) {
    this.rules = compileRules(mergeRules(DEVICE_STATS, overrides));
    this.scope = { name: 'ws2otel/mist', version };
  }

  private resourceFor(channel: string, payload: unknown, rules: readonly AttributeRule[] = DEVICE_RESOURCE): Attributes {
    const res: Attributes = { 'device.manufacturer': 'Juniper Mist', ...this.staticResource };
    const site = SITE_RE.exec(channel);
    if (site) res['mist.site.id'] = site[1]!;
    const org = ORG_RE.exec(channel);
    if (org) res['mist.org.id'] = org[1]!;
    return extractAttributes(payload, rules, res);
  }

  /** One stats sample → one envelope of points stamped with the sample's own `_time`. */
  stats(channel: string, payload: Record<string, unknown>, receivedMs: number): Envelope {
    const t = typeof payload._time === 'number' ? payload._time * 1000 : receivedMs;
    // Device counters restart at boot: uptime dates that start; otherwise the sample itself does.
    const start = typeof payload.uptime === 'number' ? t - payload.uptime * 1000 : t;
    const metrics: MetricPoint[] = [];
    extractPoints(payload, this.rules, t, start, metrics, this.limits.points_per_frame);
    return { source: this.source, resource: this.resourceFor(channel, payload), scope: this.scope, metrics, logs: [], receivedMs };
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
      const resource = this.resourceFor(channel, e, EVENT_RESOURCE);
      const key = JSON.stringify(resource);
      let env = byDevice.get(key);
      if (!env) byDevice.set(key, (env = { source: this.source, resource, scope: this.scope, metrics: [], logs: [], receivedMs }));
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
