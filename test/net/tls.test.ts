import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { defaultTls, tlsClientOptions, tlsVerificationOff, checkTls, type TlsSettings } from '../../src/net/tls.js';
import { makePki, type Pki } from '../helpers/tls.js';

// The shared TLS block against real TLS servers (node:https) using certificates openssl made just now.

let pki: Pki;
const servers: ReturnType<typeof createServer>[] = [];

async function server(opts: ServerOptions): Promise<number> {
  const s = createServer(opts, (req, res) => res.end((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN ?? 'anonymous'));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

/** GET / on 127.0.0.1:port with the block's options; the body, or the error code. */
function get(port: number, t: Partial<TlsSettings>): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...tlsClientOptions({ ...defaultTls(), ...t }) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`ok:${body}`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code ?? err.message}`));
    req.end();
  });
}

describe('the shared TLS block (src/net/tls.ts)', () => {
  let plain = 0;
  let wrongName = 0;
  let otherCa = 0;
  let mutual = 0;
  let tls12 = 0;

  before(async () => {
    pki = makePki();
    const key = (f: string) => readFileSync(f);
    plain = await server({ cert: key(pki.serverCert), key: key(pki.serverKey) });
    wrongName = await server({ cert: key(pki.wrongNameCert), key: key(pki.wrongNameKey) });
    otherCa = await server({ cert: key(pki.otherServerCert), key: key(pki.otherServerKey) });
    mutual = await server({ cert: key(pki.serverCert), key: key(pki.serverKey), ca: key(pki.caCert), requestCert: true, rejectUnauthorized: true });
    tls12 = await server({ cert: key(pki.serverCert), key: key(pki.serverKey), maxVersion: 'TLSv1.2' });
  });

  after(() => {
    for (const s of servers) s.close();
  });

  it('verifies by default: a private CA is refused until ca_file names it', async () => {
    assert.match(await get(plain, {}), /^error:(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
    assert.equal(await get(plain, { ca_file: pki.caCert }), 'ok:anonymous');
  });

  it('refuses a certificate from another CA even with ca_file set', async () => {
    assert.match(await get(otherCa, { ca_file: pki.caCert }), /^error:/);
  });

  it('insecure_skip_verify accepts a certificate whatever signed it', async () => {
    assert.equal(await get(otherCa, { insecure_skip_verify: true }), 'ok:anonymous');
  });

  it('checks the host name separately: insecure_skip_hostname or server_name accept a certificate issued to another name', async () => {
    assert.equal(await get(wrongName, { ca_file: pki.caCert }), 'error:ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(await get(wrongName, { ca_file: pki.caCert, insecure_skip_hostname: true }), 'ok:anonymous');
    assert.equal(await get(wrongName, { ca_file: pki.caCert, server_name: 'wrong.example' }), 'ok:anonymous');
    // Skipping the host name does not skip the chain.
    assert.match(await get(otherCa, { ca_file: pki.caCert, insecure_skip_hostname: true }), /^error:/);
  });

  it('presents cert_file and key_file to a server that requires a client certificate (mTLS)', async () => {
    assert.match(await get(mutual, { ca_file: pki.caCert }), /^error:/);
    assert.equal(await get(mutual, { ca_file: pki.caCert, cert_file: pki.clientCert, key_file: pki.clientKey }), 'ok:client');
  });

  it('min_version: TLSv1.3 refuses a server that stops at TLS 1.2', async () => {
    assert.equal(await get(tls12, { ca_file: pki.caCert }), 'ok:anonymous');
    assert.match(await get(tls12, { ca_file: pki.caCert, min_version: 'TLSv1.3' }), /^error:/);
  });

  it('names unreadable files and a lone cert_file at validate, and says what verification is off', () => {
    assert.deepEqual(checkTls({ ...defaultTls(), ca_file: '/nonexistent/ca.pem', cert_file: pki.clientCert }), [
      'tls: cert_file and key_file go together',
      'tls.ca_file: cannot read /nonexistent/ca.pem: ENOENT',
    ]);
    assert.equal(tlsVerificationOff(defaultTls()), '');
    assert.equal(tlsVerificationOff({ ...defaultTls(), insecure_skip_verify: true, insecure_skip_hostname: true }),
      'TLS verification off: certificate chain (insecure_skip_verify), host name (insecure_skip_hostname)');
  });
});
