import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// ws2otel's telemetry about itself, served as Prometheus text on /metrics. prom-client rather than an
// SDK MeterProvider: a pull registry needs no export pipeline of its own, so it keeps working when the
// sinks it reports on are down.
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'ws2otel_' });

const reg = { registers: [registry] };

export const selfMetrics = {
  framesReceived: new Counter({ name: 'ws2otel_source_frames_received_total', help: 'Frames read from a source socket', labelNames: ['source'], ...reg }),
  framesRejected: new Counter({ name: 'ws2otel_source_frames_rejected_total', help: 'Frames dropped as malformed, unknown or oversized', labelNames: ['source', 'reason'], ...reg }),
  eventsMapped: new Counter({ name: 'ws2otel_source_events_mapped_total', help: 'Envelopes produced by a source mapping', labelNames: ['source'], ...reg }),
  pointsMapped: new Counter({ name: 'ws2otel_source_points_mapped_total', help: 'Metric points produced by a source mapping', labelNames: ['source'], ...reg }),
  recordsMapped: new Counter({ name: 'ws2otel_source_log_records_mapped_total', help: 'Log records produced by a source mapping', labelNames: ['source'], ...reg }),
  valuesRejected: new Counter({ name: 'ws2otel_source_values_rejected_total', help: 'Points dropped or timestamps replaced within an accepted frame, by reason', labelNames: ['source', 'reason'], ...reg }),
  connectFailures: new Counter({ name: 'ws2otel_source_connect_failures_total', help: 'Connections that put the source on a slow schedule, by reason (auth, lockout, rate_limited)', labelNames: ['source', 'reason'], ...reg }),
  reconnects: new Counter({ name: 'ws2otel_source_reconnects_total', help: 'Connection attempts after the first', labelNames: ['source'], ...reg }),
  authFailures: new Counter({ name: 'ws2otel_source_auth_failures_total', help: 'Logins or upgrades refused by the vendor', labelNames: ['source'], ...reg }),
  subscriptions: new Gauge({ name: 'ws2otel_source_subscriptions', help: 'Active subscriptions by state', labelNames: ['source', 'state'], ...reg }),
  connected: new Gauge({ name: 'ws2otel_source_connected', help: '1 while the source holds a live, authenticated session', labelNames: ['source'], ...reg }),
  lastFrame: new Gauge({ name: 'ws2otel_source_last_frame_timestamp_seconds', help: 'When the source last read a frame', labelNames: ['source'], ...reg }),
  eventsSent: new Counter({ name: 'ws2otel_sink_events_sent_total', help: 'Envelopes the sink confirmed delivered', labelNames: ['sink'], ...reg }),
  batchesSent: new Counter({ name: 'ws2otel_sink_batches_sent_total', help: 'Batches the sink confirmed delivered', labelNames: ['sink'], ...reg }),
  sendFailures: new Counter({ name: 'ws2otel_sink_send_failures_total', help: 'Failed send attempts by kind (retryable, permanent)', labelNames: ['sink', 'kind'], ...reg }),
  retries: new Counter({ name: 'ws2otel_sink_retries_total', help: 'Send attempts after a retryable failure', labelNames: ['sink'], ...reg }),
  dropped: new Counter({ name: 'ws2otel_sink_events_dropped_total', help: 'Envelopes dropped, by reason', labelNames: ['sink', 'reason'], ...reg }),
  bufferEvents: new Gauge({ name: 'ws2otel_sink_buffer_events', help: 'Envelopes held in the sink buffer', labelNames: ['sink'], ...reg }),
  bufferBytes: new Gauge({ name: 'ws2otel_sink_buffer_bytes', help: 'Bytes held in the sink buffer (disk: the records; memory: strings and numbers held, overflow included)', labelNames: ['sink'], ...reg }),
  bufferTruncations: new Counter({ name: 'ws2otel_sink_buffer_truncations_total', help: 'Damaged disk buffer regions found at start (skipped, or cut off at the tail)', labelNames: ['sink'], ...reg }),
  bufferCorruptBytes: new Counter({ name: 'ws2otel_sink_buffer_corrupt_bytes_total', help: 'Bytes of damaged disk buffer regions skipped or cut off at start', labelNames: ['sink'], ...reg }),
  requestSplits: new Counter({ name: 'ws2otel_sink_request_splits_total', help: 'Requests a sink refused for good, split in halves to find the envelopes it refuses', labelNames: ['sink'], ...reg }),
  deadLettered: new Counter({ name: 'ws2otel_sink_dead_lettered_total', help: 'Envelopes written to the dead-letter file', labelNames: ['sink'], ...reg }),
  tapDropped: new Counter({ name: 'ws2otel_tap_lines_dropped_total', help: 'Tap lines skipped because the tap client did not keep up', ...reg }),
  reloads: new Counter({ name: 'ws2otel_config_reloads_total', help: 'SIGHUP reloads by result', labelNames: ['result'], ...reg }),
  eventLatency: new Histogram({
    name: 'ws2otel_sink_event_latency_seconds', help: 'From a frame\'s arrival to its delivery by the sink (buffering and retries included)',
    labelNames: ['sink'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], ...reg,
  }),
  exportDuration: new Histogram({
    name: 'ws2otel_sink_export_duration_seconds', help: 'Time of one successful send',
    labelNames: ['sink'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], ...reg,
  }),
};
