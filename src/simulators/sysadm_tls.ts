import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate and its key, as a sysadm server out of the box has one. */
export interface SelfSigned {
  cert: string;
  key: string;
  /** The certificate written to a file (for `tls.ca_file`); removed by cleanup(). */
  certFile: string;
  cleanup(): void;
}

/**
 * Generates a self-signed certificate for the simulator with the `openssl` command (no npm package):
 * CN=sysadm-simulator, valid for localhost and 127.0.0.1, one day.
 */
export function selfSignedCert(commonName = 'sysadm-simulator'): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-sysadm-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${commonName}`,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('the sysadm simulator needs the openssl command to make its self-signed certificate');
    throw new Error(`openssl failed: ${e.stderr?.toString() ?? e.message}`);
  }
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    certFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
