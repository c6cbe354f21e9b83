import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Test certificates made at test time with the machine's `openssl` into a temp dir: no key is committed.

export interface Pki {
  dir: string;
  caCert: string;
  /** Server certificate for 127.0.0.1 and localhost, signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Server certificate for wrong.example only, signed by the CA: the chain verifies, the name does not. */
  wrongNameCert: string;
  wrongNameKey: string;
  /** Client certificate for mutual TLS, signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA and a server certificate it signed for 127.0.0.1. */
  otherCaCert: string;
  otherServerCert: string;
  otherServerKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

function leaf(dir: string, caName: string, name: string, ext: string): void {
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
    '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'ws2otel-pki-'));
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  ca(dir, 'ca');
  leaf(dir, 'ca', 'server', server);
  leaf(dir, 'ca', 'wrongname', 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  ca(dir, 'otherca');
  leaf(dir, 'otherca', 'otherserver', server);
  const f = (n: string) => join(dir, n);
  return {
    dir, caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'),
    wrongNameCert: f('wrongname.crt'), wrongNameKey: f('wrongname.key'),
    clientCert: f('client.crt'), clientKey: f('client.key'),
    otherCaCert: f('otherca.crt'), otherServerCert: f('otherserver.crt'), otherServerKey: f('otherserver.key'),
  };
}
