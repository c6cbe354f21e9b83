import type convict from 'convict';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/**
 * The one TLS block every outbound connection takes (sources' wss:// and https:// logins, the
 * OTLP/HTTP and Kafka sinks), as the Collector's configtls: trust (CA file), identity (client
 * certificate and key for mTLS), the name to verify, the lowest protocol version, and two separate
 * switches that turn off chain verification and host-name verification. Both verify by default.
 */
export interface TlsSettings {
  ca_file: string;
  // Optional in the type only: the schema always fills them, and older hand-built configs omit them.
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  min_version?: '' | 'TLSv1.2' | 'TLSv1.3';
  insecure_skip_verify: boolean;
  insecure_skip_hostname?: boolean;
}

export function tlsSchema(): convict.Schema<Required<TlsSettings>> {
  return {
    ca_file: { doc: 'PEM bundle of CAs to trust (in addition to the system ones)', format: String, default: '' },
    cert_file: { doc: 'PEM client certificate, for servers that require mutual TLS (with key_file)', format: String, default: '' },
    key_file: { doc: 'PEM private key of cert_file', format: String, default: '' },
    server_name: { doc: 'Name sent in SNI and checked against the server certificate; empty: the URL host', format: String, default: '' },
    min_version: { doc: 'Lowest TLS version accepted; empty: Node\'s default (TLSv1.2)', format: ['', 'TLSv1.2', 'TLSv1.3'], default: '' },
    insecure_skip_verify: { doc: 'Accept a certificate whatever signed it (no chain verification); off by default', format: Boolean, default: false },
    insecure_skip_hostname: { doc: 'Accept a certificate issued to another name (no host-name check); off by default', format: Boolean, default: false },
  };
}

/** The block's defaults (everything verified, system CAs), for configs built in code. */
export function defaultTls(): Required<TlsSettings> {
  return { ca_file: '', cert_file: '', key_file: '', server_name: '', min_version: '', insecure_skip_verify: false, insecure_skip_hostname: false };
}

function readable(file: string): string | undefined {
  try {
    readFileSync(file);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Problems as `tls.key: message` (prefix is the block's key path inside the component). */
export function checkTls(t: TlsSettings, prefix = 'tls'): string[] {
  const problems: string[] = [];
  if (!t.cert_file !== !t.key_file) problems.push(`${prefix}: cert_file and key_file go together`);
  for (const key of ['ca_file', 'cert_file', 'key_file'] as const) {
    const file = t[key];
    if (!file) continue;
    const why = readable(file);
    if (why) problems.push(`${prefix}.${key}: cannot read ${file}: ${why}`);
  }
  return problems;
}

/** node:tls / node:https options for this block; the files are read now (at start and at each reconnect). */
export function tlsClientOptions(t: TlsSettings): ConnectionOptions {
  const o: ConnectionOptions = {};
  if (t.ca_file) o.ca = readFileSync(t.ca_file);
  if (t.cert_file) o.cert = readFileSync(t.cert_file);
  if (t.key_file) o.key = readFileSync(t.key_file);
  if (t.server_name) o.servername = t.server_name;
  if (t.min_version) o.minVersion = t.min_version;
  if (t.insecure_skip_verify) o.rejectUnauthorized = false;
  if (t.insecure_skip_hostname) o.checkServerIdentity = () => undefined;
  return o;
}

/** What verification a block turns off, for the start-up warning and /readyz; '' when it verifies fully. */
export function tlsVerificationOff(t: TlsSettings | undefined): string {
  if (!t) return '';
  const off = [t.insecure_skip_verify ? 'certificate chain (insecure_skip_verify)' : '', t.insecure_skip_hostname ? 'host name (insecure_skip_hostname)' : ''].filter(Boolean);
  return off.length ? `TLS verification off: ${off.join(', ')}` : '';
}
