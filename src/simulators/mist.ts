import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { refuseUpgrade } from './refuse_upgrade.js';
import { SimServer } from './server.js';

/**
 * A Mist stream server that speaks the protocol as README.md ("Protocol") describes it: token auth at
 * the upgrade (401 otherwise), `subscribe`/`unsubscribe` messages, `channel_subscribed` /
 * `subscribe_failed` replies, `data` frames whose payload is a JSON string, pong replies to pings.
 * It can be told to send malformed, unknown, NUL-padded or oversized frames, to refuse a channel or
 * leave it unanswered. Each `/stats/` kind (devices, clients, mxedges, the map channels) streams its
 * own object, in the shapes of Mist's documented stats objects. `ws2otel simulate mist` serves it; the
 * tests and the bench drive it in-process.
 */
export interface MistSimulatorOptions {
  host?: string;
  port?: number;
  token: string;
  /** Objects (devices, clients, assets, …) per stats channel. */
  devices?: number;
  /** Each device's stats period in ms; 0 streams as fast as the socket takes them. */
  intervalMs?: number;
  /** Stop after this many stats frames per channel (default: never). */
  count?: number;
  /** Period of device events on event channels, ms (0: none). */
  eventsEveryMs?: number;
  /** Answer WebSocket pings (a dead server does not). */
  autoPong?: boolean;
  /** Every Nth stats frame is preceded by a bad frame of each kind given. */
  faults?: {
    malformedEvery?: number; badDataEvery?: number; unknownEvery?: number; nulPadEvery?: number; oversizedEvery?: number; oversizedBytes?: number;
    /** Every Nth stats frame has NUL bytes around and inside its envelope, outside `data` (mistapi strips the whole frame). */
    nulFrameEvery?: number;
    /** Every Nth stats frame is preceded by HOSTILE_FRAMES (devices `hostile-*`): what a broken or hostile server sends. */
    hostileEvery?: number;
  };
  /**
   * Mist's websocket rate limit: answer this many upgrades (after auth) with 429, with
   * `Retry-After: retryAfterS` when given (mistapi then waits that long, else at least 30 s).
   */
  rateLimit?: { upgrades: number; retryAfterS?: number };
  /** Channels answered `subscribe_failed` (as Mist does for a channel the token may not read). */
  refuseChannels?: string[];
  /** Channels never answered at all: no `channel_subscribed`, no `subscribe_failed`, no data. */
  silentChannels?: string[];
  /** Keep what was sent (tests) or when (bench). */
  record?: 'payloads' | 'times';
}

export interface SentStats {
  channel: string;
  payload: Record<string, unknown>;
}

const SITE_CHANNEL = /^\/sites\/[0-9a-fA-F-]{8,}\/(stats\/(devices|clients|mxedges)|devices|mxedges|pcaps|devices\/[^/]+\/cmd|stats\/maps\/[^/]+\/(clients|unconnected_clients|sdkclients|assets|discovered_assets))$/;
const ORG_CHANNEL = /^\/orgs\/[0-9a-fA-F-]{8,}\/(insights\/summary|mxedges|stats\/mxedges)$/;

export function deviceMac(i: number): string {
  return `5c5b35${i.toString(16).padStart(6, '0')}`;
}

/** A device stats sample in the seed's shape, with an AP's radios and port added. */
export function deviceStats(i: number, seq: number, siteId: string, nowMs: number): Record<string, unknown> {
  const mac = deviceMac(i);
  return {
    mac,
    name: `ap-${i}`,
    model: 'AP43',
    type: 'ap',
    site_id: siteId,
    last_seen: Math.floor(nowMs / 1000),
    uptime: 6259614 + seq,
    version: '0.9.22801',
    _partition: 48,
    _offset_apbasic: 4639768722 + seq,
    ip_stat: { dns: ['10.10.12.11', '10.10.12.12'], gateway: '10.10.12.1', ip: '10.10.12.25', netmask: '255.255.255.128' },
    ip: '10.10.12.25',
    num_clients: (seq + i) % 40,
    cpu_util: (seq * 7 + i) % 100,
    mem_used_kb: 200_000 + (seq % 1000),
    mem_total_kb: 1_000_000,
    tx_bytes: 1_000_000 * (i + 1) + seq * 1500,
    rx_bytes: 2_000_000 * (i + 1) + seq * 3000,
    tx_pkts: 10_000 + seq * 10,
    rx_pkts: 20_000 + seq * 20,
    ble_stat: { tx_pkts: 9073 + seq, tx_bytes: 105431 + seq * 12, rx_pkts: 393432193 + seq, rx_bytes: 2772782221 + seq * 7, tx_resets: 0 },
    radio_stat: {
      band_24: { num_clients: seq % 10, channel: 6, power: 12, noise_floor: -92, util_all: 31, tx_bytes: 5000 + seq, rx_bytes: 7000 + seq },
      band_5: { num_clients: seq % 30, channel: 36, power: 17, noise_floor: -95, util_all: 12, tx_bytes: 9000 + seq, rx_bytes: 11000 + seq },
    },
    port_stat: { eth0: { up: true, tx_bytes: 123456 + seq, rx_bytes: 654321 + seq, tx_pkts: 1000 + seq, rx_pkts: 2000 + seq, rx_errors: 0 } },
    _time: nowMs / 1000,
  };
}

/** A wireless client on `/stats/clients`, in Mist's StatsWirelessClient shape: never a device. */
export function clientStats(i: number, seq: number, siteId: string, nowMs: number): Record<string, unknown> {
  return {
    mac: `a4c3f0${i.toString(16).padStart(6, '0')}`,
    hostname: `laptop-${i}`,
    manufacture: 'Apple',
    family: 'Mac',
    model: 'MacBookPro',
    os: 'macOS',
    ip: `10.10.40.${(i % 250) + 2}`,
    site_id: siteId,
    ap_mac: deviceMac(i % 3),
    ap_id: '00000000-0000-0000-1000-5c5b35000000',
    ssid: 'corp',
    wlan_id: 'be22bba7-8e22-e1cf-5185-b880816fe2cf',
    band: '5',
    proto: 'ax',
    channel: 36,
    rssi: -50 - (seq % 20),
    snr: 40 - (seq % 20),
    tx_rate: 573.5,
    rx_rate: 432.3,
    tx_bps: 1200 + seq,
    rx_bps: 800 + seq,
    tx_bytes: 5_000_000 + seq * 1500,
    rx_bytes: 2_000_000 + seq * 700,
    tx_packets: 9000 + seq * 3,
    rx_packets: 7000 + seq * 2,
    tx_retries: 100 + seq,
    rx_retries: 50 + seq,
    uptime: 3600 + seq,
    idle_time: 3,
    last_seen: Math.floor(nowMs / 1000),
    dual_band: true,
    is_guest: false,
    power_saving: false,
    key_mgmt: 'WPA2-PSK/CCMP',
    _time: nowMs / 1000,
  };
}

/** A Mist Edge on `/stats/mxedges`, in Mist's StatsMxedge shape. */
export function mxedgeStats(i: number, seq: number, siteId: string, nowMs: number): Record<string, unknown> {
  return {
    id: `00000000-0000-0000-1000-0200${i.toString(16).padStart(8, '0')}`,
    mac: `020000${i.toString(16).padStart(6, '0')}`,
    name: `me-vm-${i}`,
    model: 'ME-VM',
    site_id: siteId,
    status: 'connected',
    uptime: 76281 + seq,
    last_seen: Math.floor(nowMs / 1000),
    num_tunnels: 4 + (seq % 3),
    cpu_stat: { idle: 54, system: 20, usage: 46 },
    memory_stat: { usage: 38 },
    port_stat: {
      port0: { up: true, speed: 10000, tx_bytes: 647200748038 + seq, rx_bytes: 646898375700 + seq, tx_pkts: 8788647466 + seq, rx_pkts: 8784449574 + seq, tx_errors: 0, rx_errors: 0 },
    },
    _time: nowMs / 1000,
  };
}

/** One object of a `/stats/maps/{map}/{kind}` channel, in Mist's shapes for that kind. */
export function mapStats(kind: string, i: number, seq: number, mapId: string, nowMs: number): Record<string, unknown> {
  const at = { map_id: mapId, x: 100 + ((seq * 7 + i * 13) % 400), y: 80 + ((seq * 5 + i * 11) % 300), last_seen: Math.floor(nowMs / 1000), _time: nowMs / 1000 };
  const hex = i.toString(16).padStart(6, '0');
  switch (kind) {
    case 'clients':
      return { mac: `a4c3f0${hex}`, accuracy: 4, ...at };
    case 'unconnected_clients':
      return { mac: `d0817a${hex}`, manufacture: 'Samsung', ap_mac: deviceMac(i % 3), rssi: -70 - (seq % 15), ...at };
    case 'sdkclients':
      return { id: `53f10664-3ce8-4c27-b382-${hex}000000`, uuid: `ada72f8f-1643-e5c6-94db-${hex}000000`, name: `phone-${i}`, network_connection: { mac: `f0d1a9${hex}`, rssi: -62, type: 'wifi' }, ...at };
    case 'assets':
      return { mac: `6fa474${hex}`, name: `tag-${i}`, rssi: -60 - (seq % 10), battery_voltage: 2970, temperature: 23, ...at };
    default: // discovered_assets
      return { mac: `c2b4a1${hex}`, manufacture: 'Kontakt', rssi: -75 - (seq % 10), ...at };
  }
}

const STATS_CHANNEL = /^\/(?:sites|orgs)\/([^/]+)\/stats\/(devices|clients|mxedges|maps\/([^/]+)\/(clients|unconnected_clients|sdkclients|assets|discovered_assets))$/;

/** The payload maker for a stats channel's kind. */
function statsMaker(channel: string): ((i: number, seq: number, nowMs: number) => Record<string, unknown>) | undefined {
  const m = STATS_CHANNEL.exec(channel);
  if (!m) return undefined;
  const owner = m[1]!;
  const site = channel.startsWith('/sites/') ? owner : '';
  if (m[2] === 'devices') return (i, seq, now) => deviceStats(i, seq, site, now);
  if (m[2] === 'clients') return (i, seq, now) => clientStats(i, seq, site, now);
  if (m[2] === 'mxedges') {
    return (i, seq, now) => {
      const p = mxedgeStats(i, seq, site, now);
      if (!site) p.org_id = owner;
      return p;
    };
  }
  const kind = m[4]!;
  const map = m[3]!;
  return (i, seq, now) => mapStats(kind, i, seq, map, now);
}

const EVENT_TYPES = ['AP_CONFIGURED', 'AP_RESTARTED', 'AP_DISCONNECTED', 'AP_CONNECTED', 'AP_UPGRADE_FAILED'];

export class MistSimulator {
  private readonly server: SimServer;
  readonly sent: SentStats[] = [];
  readonly sentEvents: SentStats[] = [];
  /** `<mac>/<uptime>` → send time (ms), when record is 'times'. */
  readonly sentAt = new Map<string, number>();
  readonly clientMessages: unknown[] = [];
  statsFramesSent = 0;
  connections = 0;
  authFailures = 0;
  /** Subscribes for a channel already subscribed on that connection. */
  duplicateSubscribes = 0;
  /** Upgrades answered 429, with the time of each (Date.now). */
  readonly rateLimited: number[] = [];
  private seq = 0;
  private finished: (() => void) | undefined;
  /** Resolves when every stats channel has sent `count` frames. */
  readonly done: Promise<void>;

  constructor(private readonly opts: MistSimulatorOptions) {
    this.done = new Promise((resolve) => (this.finished = resolve));
    this.server = new SimServer({
      host: opts.host, port: opts.port, ws: { autoPong: opts.autoPong ?? true },
      upgrade: (req, socket, head) => this.upgrade(req, socket, head),
    });
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return this.server.url('ws', '/api-ws/v1/stream');
  }

  start(): Promise<number> {
    return this.server.listen();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api-ws/v1/stream') {
      return refuseUpgrade(socket, 404);
    }
    const auth = /^token\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!auth || auth[1] !== this.opts.token) {
      this.authFailures++;
      return refuseUpgrade(socket, 401, '{"detail":"Authentication credentials were not provided."}');
    }
    const rl = this.opts.rateLimit;
    if (rl && this.rateLimited.length < rl.upgrades) {
      this.rateLimited.push(Date.now());
      return refuseUpgrade(socket, 429, '{"detail":"Request was throttled."}', rl.retryAfterS !== undefined ? { 'Retry-After': String(rl.retryAfterS) } : {});
    }
    this.server.accept(req, socket, head, (ws) => this.session(ws));
  }

  private session(ws: WebSocket): void {
    this.connections++;
    const channels = new Map<string, () => void>();
    ws.on('message', (data: Buffer) => {
      let msg: { subscribe?: unknown; unsubscribe?: unknown };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return; // Mist ignores what it cannot parse
      }
      this.clientMessages.push(msg);
      if (typeof msg.subscribe === 'string') {
        const ch = msg.subscribe;
        if (this.opts.silentChannels?.includes(ch)) return;
        if (this.opts.refuseChannels?.includes(ch)) {
          ws.send(JSON.stringify({ event: 'subscribe_failed', channel: ch, detail: 'permission denied' }));
          return;
        }
        if (!SITE_CHANNEL.test(ch) && !ORG_CHANNEL.test(ch)) {
          ws.send(JSON.stringify({ event: 'subscribe_failed', channel: ch, detail: 'invalid channel' }));
          return;
        }
        ws.send(JSON.stringify({ event: 'channel_subscribed', channel: ch }));
        if (channels.has(ch)) this.duplicateSubscribes++;
        else channels.set(ch, this.stream(ws, ch));
      } else if (typeof msg.unsubscribe === 'string') {
        channels.get(msg.unsubscribe)?.();
        channels.delete(msg.unsubscribe);
      }
    });
    ws.on('close', () => {
      for (const stop of channels.values()) stop();
    });
  }

  /** Starts the channel's stream; returns its stop function. */
  private stream(ws: WebSocket, channel: string): () => void {
    const site = /^\/sites\/([^/]+)\//.exec(channel)?.[1] ?? '';
    let stopped = false;
    const make = statsMaker(channel);
    if (make) {
      const devices = this.opts.devices ?? 3;
      const interval = this.opts.intervalMs ?? 1000;
      let n = 0;
      const one = (): boolean => {
        if (this.opts.count !== undefined && n >= this.opts.count) return false;
        this.faultsBefore(ws, channel, n);
        const seq = ++this.seq;
        const now = Date.now();
        const payload = make(n % devices, seq, now);
        const text = JSON.stringify(payload);
        const frame = JSON.stringify({ event: 'data', channel, data: this.nulPad(n) ? `${text}\u0000` : text });
        // NULs around the envelope and between its members: JSON.parse refuses them unless stripped first.
        ws.send(this.hit(this.opts.faults?.nulFrameEvery, n) ? `\u0000${frame.replace('",', '",\u0000')}\u0000\u0000` : frame);
        if (this.opts.record === 'payloads') this.sent.push({ channel, payload });
        else if (this.opts.record === 'times') this.sentAt.set(`${payload.mac as string}/${payload.uptime as number}`, now);
        n++;
        this.statsFramesSent++;
        if (this.opts.count !== undefined && n >= this.opts.count) this.finished?.();
        return true;
      };
      if (interval === 0) {
        // As fast as the client reads: a paused reader fills the kernel buffers, bufferedAmount grows, we wait.
        const pump = (): void => {
          if (stopped || ws.readyState !== ws.OPEN) return;
          let more = true;
          for (let i = 0; i < 200 && more; i++) more = one();
          if (more) {
            if (ws.bufferedAmount < 4 * 1024 * 1024) setImmediate(pump);
            else {
              const t = setInterval(() => {
                if (ws.bufferedAmount < 1024 * 1024 || stopped) {
                  clearInterval(t);
                  setImmediate(pump);
                }
              }, 2);
            }
          }
        };
        setImmediate(pump);
      } else {
        const t = this.server.every(Math.max(1, Math.floor(interval / devices)), () => {
          if (!one()) clearInterval(t);
        });
        return () => {
          stopped = true;
          this.server.cancel(t);
        };
      }
    } else if (/\/devices$/.test(channel) && (this.opts.eventsEveryMs ?? 0) > 0) {
      let k = 0;
      const t = this.server.every(this.opts.eventsEveryMs, () => {
        const i = k % (this.opts.devices ?? 3);
        const payload = {
          type: EVENT_TYPES[k % EVENT_TYPES.length], mac: deviceMac(i), device_name: `ap-${i}`, device_type: 'ap',
          site_id: site, timestamp: Date.now() / 1000, text: `event ${k} on ap-${i}`,
        };
        k++;
        ws.send(JSON.stringify({ event: 'data', channel, data: JSON.stringify(payload) }));
        if (this.opts.record) this.sentEvents.push({ channel, payload });
      });
      return () => this.server.cancel(t);
    }
    return () => {
      stopped = true;
    };
  }

  private nulPad(n: number): boolean {
    return this.hit(this.opts.faults?.nulPadEvery, n);
  }

  private hit(every: number | undefined, n: number): boolean {
    return !!every && n % every === every - 1;
  }

  private faultsBefore(ws: WebSocket, channel: string, n: number): void {
    const f = this.opts.faults;
    if (!f) return;
    const hit = (every?: number) => !!every && n % every === every - 1;
    if (hit(f.malformedEvery)) ws.send('{"event": "data", "channel": ');
    if (hit(f.badDataEvery)) ws.send(JSON.stringify({ event: 'data', channel, data: '{not json' }));
    if (hit(f.unknownEvery)) ws.send(JSON.stringify({ event: 'server_maintenance', channel }));
    if (hit(f.oversizedEvery)) ws.send(JSON.stringify({ event: 'data', channel, data: 'x'.repeat(f.oversizedBytes ?? 1024 * 1024) }));
    if (hit(f.hostileEvery)) for (const frame of hostileFrames(channel, Date.now())) ws.send(frame, { binary: false });
  }

  /** Drops every client connection the way a restarting server does. */
  closeAll(code = 1012, reason = 'service restart'): void {
    this.server.closeAll(code, reason);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

const deep = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;

/**
 * Frames that once killed a source, stalled a sink or arrived silently wrong: numbers JSON allows and
 * sinks do not (1e999, 1e20, -5 as a time), 10,000-deep nesting, a channel that is not a string, 5,000
 * radios, invalid UTF-8. Devices are `hostile-*`, so tests can tell them from the good ones.
 */
export function hostileFrames(channel: string, nowMs: number): (string | Buffer)[] {
  const data = (payload: string) => JSON.stringify({ event: 'data', channel, data: payload });
  const radios = Array.from({ length: 5000 }, (_, i) => `"r${i}":{"num_clients":1,"tx_bytes":${i}}`).join(',');
  return [
    data(`{"mac":"hostile-inf","_time":1e999,"uptime":1e306,"num_clients":3}`),
    data(`{"mac":"hostile-big","_time":1e20,"tx_bytes":1e20,"rx_bytes":-5,"mem_used_kb":1e306}`),
    data(`{"mac":"hostile-old","_time":-5,"num_clients":"0x10","cpu_util":7}`),
    data(`{"mac":"hostile-deep","_time":${nowMs / 1000},"num_clients":1,"nested":${deep(10_000)}}`),
    data(`{"mac":"hostile-wide","_time":${nowMs / 1000},"radio_stat":{${radios}}}`),
    `{"event":"channel_subscribed","channel":${deep(10_000)}}`,
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  ];
}
