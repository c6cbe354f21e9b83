import type convict from 'convict';
import type { Attributes, Emitter } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import type { ComponentSpec } from '../config/component.js';
import type { MetricRule } from '../mapping/rules.js';
import { checkRange } from '../config/formats.js';
import { checkTls, tlsSchema, type TlsSettings } from '../net/tls.js';
import { DEFAULT_LIMITS, type FrameLimits } from '../mapping/values.js';
import type { SlowClock } from './session.js';
import type { SourceMetrics } from '../telemetry/metrics.js';
import type { SecretScope } from '../telemetry/secrets.js';

const LOG_LEVELS = ['', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * What a source is created with (as the Collector's TelemetrySettings): nothing is reached for globally.
 * The optional fields default to the daemon's own (the /metrics registry, the source's secret scope,
 * the real clock): see `sourceContext` in ./protocol_source.ts.
 */
export interface SourceContext {
  emitter: Emitter;
  log: Logger;
  /** The slow schedules' clock (auth refused, 429, lockout guard, re-subscribing); tests pass a fake one. */
  clock?: SlowClock;
  /** The source's self-metric families, on the registry the daemon serves (tests: a fresh Registry). */
  metrics?: SourceMetrics;
  /** The source's secret scope: config-time secrets are in it; a login's go in `secrets.session()`. */
  secrets?: SecretScope;
}

export interface SourceStatus {
  /** Holds a live, authenticated, subscribed session. */
  connected: boolean;
  detail: string;
  /** Why it waits on a slow schedule: a refused credential, a likely lockout, a 429. */
  problem?: 'auth' | 'lockout' | 'rate_limited';
}

export interface Source {
  readonly name: string;
  start(): void;
  /** Unsubscribe, log out where the vendor has it, close; resolves when the socket is closed. */
  stop(): Promise<void>;
  status(): SourceStatus;
}

export interface SourceFactory<C extends CommonSourceConfig = CommonSourceConfig> extends ComponentSpec<C> {
  create(config: C, ctx: SourceContext): Source;
}

/** Keys every source entry has, whatever its vendor. */
export interface CommonSourceConfig {
  name: string;
  type: string;
  resource: Attributes;
  metrics: MetricRule[];
  reconnect: { initial_interval: number; max_interval: number };
  keepalive: { interval: number; timeout: number };
  max_frame_bytes: number;
  /** Per-frame caps; absent: DEFAULT_LIMITS. */
  limits?: FrameLimits;
  /** How long an expected subscription may wait for its answer; absent: 30 s. */
  subscribe_timeout?: number;
  /** First wait before asking again for a refused or unanswered subscription (doubles, to 30 min); absent: 1 min. */
  resubscribe_interval?: number;
  /** How often the `ws2otel.source.up` gauge is emitted besides on every change; absent: 60 s. */
  up_interval?: number;
  /** The slow schedule after a refused credential; absent: DEFAULT_AUTH_RETRY. */
  auth_retry?: { initial_interval: number; max_interval: number };
  tls: TlsSettings;
  log_level?: string;
}

export function commonSourceSchema(type: string, keepalive: { interval: string; timeout: string }): convict.Schema<CommonSourceConfig> {
  return {
    name: { doc: 'Unique name of this source; sinks select their inputs by it', format: 'required-string', default: '' },
    type: { doc: 'Source type', format: [type], default: type },
    resource: { doc: 'Static resource attributes added to everything this source emits', format: 'string-map', default: {} },
    metrics: { doc: 'Field → metric rules that add to or override the vendor defaults', format: 'metric-rules', default: [] },
    reconnect: {
      initial_interval: { doc: 'First reconnect delay cap (full jitter below it)', format: 'duration', default: '1s' as unknown as number },
      max_interval: { doc: 'Largest reconnect delay cap', format: 'duration', default: '60s' as unknown as number },
    },
    keepalive: {
      interval: { doc: 'How often to send a WebSocket ping', format: 'duration', default: keepalive.interval as unknown as number },
      timeout: { doc: 'No pong within this long means the socket is dead: reconnect', format: 'duration', default: keepalive.timeout as unknown as number },
    },
    max_frame_bytes: { doc: 'A larger frame is counted as oversized and the connection is reset', format: 'nat', default: 16 * 1024 * 1024 },
    limits: {
      points_per_frame: { doc: 'Most metric points one frame may yield; the rest are cut and counted (too_many_points)', format: range(1, 1_000_000), default: DEFAULT_LIMITS.points_per_frame },
      records_per_frame: { doc: 'Most log records one frame may yield (too_many_records)', format: range(1, 1_000_000), default: DEFAULT_LIMITS.records_per_frame },
      envelopes_per_frame: { doc: 'Most envelopes (resources) one frame may yield (too_many_envelopes)', format: range(1, 100_000), default: DEFAULT_LIMITS.envelopes_per_frame },
      attributes_per_record: { doc: 'Most attributes per point, record or resource (too_many_attributes)', format: range(1, 10_000), default: DEFAULT_LIMITS.attributes_per_record },
    },
    auth_retry: {
      initial_interval: { doc: 'Wait after a refused credential; doubles per refusal in a row', format: 'duration', default: '1m' as unknown as number },
      max_interval: { doc: 'Longest wait after refused credentials', format: 'duration', default: '30m' as unknown as number },
    },
    subscribe_timeout: { doc: 'How long a subscription may wait for its answer before it counts as failed and is asked for again', format: 'duration', default: '30s' as unknown as number },
    resubscribe_interval: { doc: 'First wait before asking again for a refused or unanswered subscription; doubles per try, up to 30m', format: 'duration', default: '1m' as unknown as number },
    up_interval: { doc: 'How often the ws2otel.source.up gauge is emitted through the sinks besides on every change', format: 'duration', default: '60s' as unknown as number },
    log_level: { doc: "This source's log level; empty: the daemon's", format: LOG_LEVELS, default: '' },
    tls: tlsSchema(),
  };
}

/** A convict format: an integer in [min, max]. */
function range(min: number, max: number): (v: unknown) => void {
  return (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`must be an integer from ${min} to ${max}`);
  };
}

/** Floors every source's common keys get, whatever its vendor: none of them may make a tight loop. */
export function checkCommonSource(c: CommonSourceConfig): string[] {
  const problems: string[] = [];
  // 0 would reconnect (and re-authenticate) as fast as the server refuses; 0 keepalive pings nonstop.
  checkRange(problems, 'reconnect.initial_interval', c.reconnect.initial_interval, 50, Infinity, ' ms');
  if (c.reconnect.max_interval < c.reconnect.initial_interval) problems.push('reconnect.max_interval: must not be below reconnect.initial_interval');
  checkRange(problems, 'keepalive.interval', c.keepalive.interval, 100, Infinity, ' ms');
  checkRange(problems, 'keepalive.timeout', c.keepalive.timeout, 100, Infinity, ' ms');
  // The ws library reads 0 as "no limit": refuse it rather than let it mean unlimited.
  checkRange(problems, 'max_frame_bytes', c.max_frame_bytes, 1024, 2 ** 31 - 1);
  problems.push(...checkTls(c.tls));
  // Below a second a slow vendor's ordinary answer would count as a failure; beyond an hour a refusal goes unseen.
  if (c.subscribe_timeout !== undefined) checkRange(problems, 'subscribe_timeout', c.subscribe_timeout, 1000, 3_600_000, ' ms');
  // Asking a refusing server again faster than every 5 s is a loop; the schedule is capped at 30 min anyway.
  if (c.resubscribe_interval !== undefined) checkRange(problems, 'resubscribe_interval', c.resubscribe_interval, 5000, 1_800_000, ' ms');
  // The gauge is a heartbeat for dashboards: not a flood, and not so rare that a panel shows holes.
  if (c.up_interval !== undefined) checkRange(problems, 'up_interval', c.up_interval, 1000, 3_600_000, ' ms');
  const a = c.auth_retry;
  if (a) {
    // A second is the floor: a refused credential retried faster is a password-guessing loop.
    if (a.initial_interval < 1000) problems.push('auth_retry.initial_interval: must be at least 1s');
    if (a.max_interval < a.initial_interval) problems.push('auth_retry.max_interval: must not be below auth_retry.initial_interval');
    if (a.max_interval > 2 ** 31 - 1) problems.push('auth_retry.max_interval: must be at most 24d');
  }
  return problems;
}
