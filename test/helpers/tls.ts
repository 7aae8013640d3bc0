/**
 * A test certificate authority and a server certificate it signed (SAN 127.0.0.1 and localhost), made with the
 * openssl command line into a temporary directory: real files, real TLS, a CA the code under test must be told
 * about (nothing here is trusted by the system).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function makeTestPki(commonName = 'coffer-test-peer'): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-pki-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=coffer test CA']);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${commonName}`]);
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
    return { caPem: readFileSync(f('ca.pem'), 'utf8'), certPem: readFileSync(f('server.pem'), 'utf8'), keyPem: readFileSync(f('server.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
