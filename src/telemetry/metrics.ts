import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { foldInto } from './folded.js';

// ws2otel's telemetry about itself, served as Prometheus text on /metrics. prom-client rather than an
// SDK MeterProvider: a pull registry needs no export pipeline of its own, so it keeps working when the
// sinks it reports on are down.
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'ws2otel_' });

const reg = { registers: [registry] };

/**
 * The metric families every source writes, built on a registry the caller passes in (the daemon: the one
 * /metrics serves; a test: a fresh one). Memoized per registry: prom-client refuses a name twice.
 */
export function sourceMetrics(r: Registry) {
  let m = built.get(r) as SourceMetrics | undefined;
  if (!m) {
    m = buildSourceMetrics(r);
    built.set(r, m);
  }
  return m;
}

const built = new WeakMap<Registry, unknown>();

function buildSourceMetrics(r: Registry) {
  return {
    framesReceived: new Counter({ name: 'ws2otel_source_frames_received_total', help: 'Frames read from a source socket', labelNames: ['source'], registers: [r], collect: foldInto }),
    framesRejected: new Counter({ name: 'ws2otel_source_frames_rejected_total', help: 'Frames dropped as malformed, unknown or oversized', labelNames: ['source', 'reason'], registers: [r] }),
    eventsMapped: new Counter({ name: 'ws2otel_source_events_mapped_total', help: 'Envelopes produced by a source mapping', labelNames: ['source'], registers: [r], collect: foldInto }),
    pointsMapped: new Counter({ name: 'ws2otel_source_points_mapped_total', help: 'Metric points produced by a source mapping', labelNames: ['source'], registers: [r], collect: foldInto }),
    recordsMapped: new Counter({ name: 'ws2otel_source_log_records_mapped_total', help: 'Log records produced by a source mapping', labelNames: ['source'], registers: [r], collect: foldInto }),
    valuesRejected: new Counter({ name: 'ws2otel_source_values_rejected_total', help: 'Points dropped or timestamps replaced within an accepted frame, by reason', labelNames: ['source', 'reason'], registers: [r] }),
    connectFailures: new Counter({ name: 'ws2otel_source_connect_failures_total', help: 'Connections that put the source on a slow schedule, by reason (auth, lockout, rate_limited)', labelNames: ['source', 'reason'], registers: [r] }),
    reconnects: new Counter({ name: 'ws2otel_source_reconnects_total', help: 'Connection attempts after the first', labelNames: ['source'], registers: [r] }),
    authFailures: new Counter({ name: 'ws2otel_source_auth_failures_total', help: 'Logins or upgrades refused by the vendor', labelNames: ['source'], registers: [r] }),
    subscriptions: new Gauge({ name: 'ws2otel_source_subscriptions', help: 'Active subscriptions by state', labelNames: ['source', 'state'], registers: [r] }),
    connected: new Gauge({ name: 'ws2otel_source_connected', help: '1 while the source holds a live, authenticated session', labelNames: ['source'], registers: [r] }),
    lastFrame: new Gauge({ name: 'ws2otel_source_last_frame_timestamp_seconds', help: 'When the source last read a frame', labelNames: ['source'], registers: [r], collect: foldInto }),
    subscriptionUp: new Gauge({
      name: 'ws2otel_source_subscription_up', help: '1 while a configured subscription is acknowledged, 0 while it is pending or failed',
      labelNames: ['source', 'subscription'], registers: [r],
    }),
  };
}

export type SourceMetrics = ReturnType<typeof buildSourceMetrics>;

/**
 * The metric families every sink's exporter writes, built on a registry the caller passes in (the daemon:
 * the one /metrics serves; a test: a fresh one). Memoized per registry, as sourceMetrics.
 */
export function sinkMetrics(r: Registry) {
  let m = builtSinks.get(r);
  if (!m) {
    m = buildSinkMetrics(r);
    builtSinks.set(r, m);
  }
  return m;
}

const builtSinks = new WeakMap<Registry, SinkMetrics>();

function buildSinkMetrics(r: Registry) {
  return {
    eventsSent: new Counter({ name: 'ws2otel_sink_events_sent_total', help: 'Envelopes the sink confirmed delivered', labelNames: ['sink'], registers: [r] }),
    batchesSent: new Counter({ name: 'ws2otel_sink_batches_sent_total', help: 'Batches the sink confirmed delivered', labelNames: ['sink'], registers: [r] }),
    sendFailures: new Counter({ name: 'ws2otel_sink_send_failures_total', help: 'Failed send attempts by kind (retryable, permanent)', labelNames: ['sink', 'kind'], registers: [r] }),
    retries: new Counter({ name: 'ws2otel_sink_retries_total', help: 'Send attempts after a retryable failure', labelNames: ['sink'], registers: [r] }),
    dropped: new Counter({ name: 'ws2otel_sink_events_dropped_total', help: 'Envelopes dropped, by reason', labelNames: ['sink', 'reason'], registers: [r] }),
    bufferEvents: new Gauge({ name: 'ws2otel_sink_buffer_events', help: 'Envelopes held in the sink buffer', labelNames: ['sink'], registers: [r], collect: foldInto }),
    bufferBytes: new Gauge({ name: 'ws2otel_sink_buffer_bytes', help: 'Bytes held in the sink buffer: the encoded items as held (disk: the records as written; memory: overflow included)', labelNames: ['sink'], registers: [r], collect: foldInto }),
    bufferTruncations: new Counter({ name: 'ws2otel_sink_buffer_truncations_total', help: 'Damaged disk buffer regions found at start (skipped, or cut off at the tail)', labelNames: ['sink'], registers: [r] }),
    bufferCorruptBytes: new Counter({ name: 'ws2otel_sink_buffer_corrupt_bytes_total', help: 'Bytes of damaged disk buffer regions skipped or cut off at start', labelNames: ['sink'], registers: [r] }),
    requestSplits: new Counter({ name: 'ws2otel_sink_request_splits_total', help: 'Requests a sink refused for good, split in halves to find the envelopes it refuses', labelNames: ['sink'], registers: [r] }),
    deadLettered: new Counter({ name: 'ws2otel_sink_dead_lettered_total', help: 'Envelopes written to the dead-letter file', labelNames: ['sink'], registers: [r] }),
    eventLatency: new Histogram({
      name: 'ws2otel_sink_event_latency_seconds', help: 'From a frame\'s arrival to its delivery by the sink (buffering and retries included)',
      labelNames: ['sink'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [r],
    }),
    exportDuration: new Histogram({
      name: 'ws2otel_sink_export_duration_seconds', help: 'Time of one successful send',
      labelNames: ['sink'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [r],
    }),
  };
}

export type SinkMetrics = ReturnType<typeof buildSinkMetrics>;

export const selfMetrics = {
  ...sourceMetrics(registry),
  ...sinkMetrics(registry),
  tapDropped: new Counter({ name: 'ws2otel_tap_lines_dropped_total', help: 'Tap lines skipped because the tap client did not keep up', ...reg }),
  reloads: new Counter({ name: 'ws2otel_config_reloads_total', help: 'SIGHUP reloads by result', labelNames: ['result'], ...reg }),
};
