import type convict from 'convict';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';
import { checkRange } from '../../config/formats.js';
import { checkTls, tlsSchema, type TlsSettings } from '../../net/tls.js';

/** One `type: otlp_http` entry of `sinks:`; names follow the Collector's otlphttp exporter. */
export interface OtlpHttpConfig extends CommonSinkConfig {
  endpoint: string;
  metrics_endpoint: string;
  logs_endpoint: string;
  encoding: 'proto' | 'json';
  compression: 'gzip' | 'none';
  compression_level: number;
  headers: Record<string, string>;
  timeout: number;
  tls: TlsSettings;
}

export function otlpHttpSchema(): convict.Schema<OtlpHttpConfig> {
  return {
    ...commonSinkSchema('otlp_http'),
    endpoint: { doc: 'Base URL; /v1/metrics and /v1/logs are appended', format: 'http-url', default: 'http://127.0.0.1:4318' },
    metrics_endpoint: { doc: 'Full URL for metrics, overriding endpoint + /v1/metrics', format: 'optional-http-url', default: '' },
    logs_endpoint: { doc: 'Full URL for logs, overriding endpoint + /v1/logs', format: 'optional-http-url', default: '' },
    encoding: { doc: 'proto (application/x-protobuf) or json (application/json)', format: ['proto', 'json'], default: 'proto' },
    compression: { doc: 'Request body compression', format: ['gzip', 'none'], default: 'gzip' },
    compression_level: {
      doc: 'gzip level, 1 (fastest) to 9 (smallest); a body of concatenated frames repeats its names, which 1 already compresses about 14:1',
      format: 'nat',
      default: 1,
    },
    headers: { doc: 'Extra request headers (API keys: use ${ENV} or headers_file)', format: 'string-map', default: {}, sensitive: true },
    timeout: { doc: 'Time limit of one request', format: 'duration', default: '10s' as unknown as number },
    tls: tlsSchema(),
  };
}

export function checkOtlpHttp(c: OtlpHttpConfig): string[] {
  const problems: string[] = [];
  // A zero time limit aborts every request before it is sent.
  checkRange(problems, 'timeout', c.timeout, 100, Infinity, ' ms');
  checkRange(problems, 'compression_level', c.compression_level, 1, 9);
  problems.push(...checkTls(c.tls));
  return problems;
}
