import type convict from 'convict';

/** Daemon-level settings; each can also come from its WS2OTEL_* environment variable. */
export interface DaemonSettings {
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  http: { address: string; tap: boolean; tap_remote: boolean };
  data_dir: string;
  shutdown_grace: number;
}

export function daemonSchema(): convict.Schema<DaemonSettings> {
  return {
    log_level: {
      doc: 'Log level of the JSON logs',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'WS2OTEL_LOG_LEVEL',
    },
    http: {
      address: {
        doc: 'host:port of the /metrics, /healthz, /readyz listener; empty disables it',
        format: String,
        default: '127.0.0.1:8686',
        env: 'WS2OTEL_HTTP_ADDRESS',
      },
      tap: { doc: 'Serve /tap for `ws2otel tap` (streams event contents: off by default)', format: Boolean, default: false, env: 'WS2OTEL_HTTP_TAP' },
      tap_remote: { doc: 'Allow /tap from non-loopback clients', format: Boolean, default: false },
    },
    data_dir: {
      doc: 'Directory for state that must survive restarts (disk buffers)',
      format: String,
      default: '/var/lib/ws2otel',
      env: 'WS2OTEL_DATA_DIR',
    },
    shutdown_grace: {
      doc: 'On SIGTERM, how long to flush buffered data before exiting',
      format: 'duration',
      default: '10s' as unknown as number,
      env: 'WS2OTEL_SHUTDOWN_GRACE',
    },
  };
}
