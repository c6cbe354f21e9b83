import type convict from 'convict';
import { commonSinkSchema, type CommonSinkConfig } from '../sink.js';
import { checkRange } from '../../config/formats.js';
import { checkTls, tlsSchema, type TlsSettings } from '../../net/tls.js';

/** One `type: splunk_hec` entry of `sinks:`; names follow the Collector's splunk_hec exporter where one exists. */
export interface SplunkHecConfig extends CommonSinkConfig {
  endpoint: string;
  token: string;
  index: string;
  metrics_index: string;
  source: string;
  sourcetype: string;
  host: string;
  compression: 'gzip' | 'none';
  max_request_bytes: number;
  timeout: number;
  ack: boolean;
  ack_poll_interval: number;
  ack_timeout: number;
  tls: TlsSettings;
}

export function splunkHecSchema(): convict.Schema<SplunkHecConfig> {
  return {
    ...commonSinkSchema('splunk_hec'),
    endpoint: { doc: 'HEC base URL; /services/collector/event and /services/collector/ack are appended', format: 'http-url', default: 'https://127.0.0.1:8088' },
    token: { doc: 'HEC token, sent as Authorization: Splunk <token> (or token_file, or ${ENV})', format: 'required-string', default: '', sensitive: true },
    index: { doc: "Index of log events; empty: the token's default index", format: String, default: '' },
    metrics_index: { doc: 'Index of metric events (a metrics index); empty: index', format: String, default: '' },
    source: { doc: "HEC source of every event; empty: Splunk's default (http:<token name>)", format: String, default: '' },
    sourcetype: { doc: "HEC sourcetype of every event; empty: Splunk's default", format: String, default: '' },
    host: { doc: "HEC host of every event; empty: the resource's host.name, else its device.name", format: String, default: '' },
    compression: { doc: 'Request body compression', format: ['gzip', 'none'], default: 'gzip' },
    max_request_bytes: { doc: 'Largest request body before compression; a batch is sent as several requests when larger', format: 'nat', default: 2 * 1024 * 1024 },
    timeout: { doc: 'Time limit of one request', format: 'duration', default: '10s' as unknown as number },
    ack: { doc: 'Indexer acknowledgement: a batch is delivered when Splunk acknowledges it indexed, not when HEC answers 200', format: Boolean, default: false },
    ack_poll_interval: { doc: 'How often /services/collector/ack is asked while acknowledgements are due', format: 'duration', default: '1s' as unknown as number },
    ack_timeout: { doc: 'Acknowledgements not given within this are taken as lost: the requests are sent again', format: 'duration', default: '60s' as unknown as number },
    tls: tlsSchema(),
  };
}

export function checkSplunkHec(c: SplunkHecConfig): string[] {
  const problems: string[] = [];
  if (/\s/.test(c.token)) problems.push('token: must not contain whitespace');
  if (c.max_request_bytes < 1024) problems.push('max_request_bytes: must be at least 1024');
  checkRange(problems, 'timeout', c.timeout, 100, Infinity, ' ms');
  if (c.ack) checkRange(problems, 'ack_poll_interval', c.ack_poll_interval, 1, Infinity, ' ms');
  if (c.ack && c.ack_timeout < c.ack_poll_interval) problems.push('ack_timeout: must be at least ack_poll_interval');
  problems.push(...checkTls(c.tls));
  return problems;
}
