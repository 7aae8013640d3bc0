/** The configuration file (HCL and JSON), the TLS listener, dev mode flags and SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { ConfigError, parseConfigText } from '../../src/server/config.js';
import { runCoffer, spawnServer } from '../helpers/process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('HCL and JSON configs in Vault shape parse to the same settings', async () => {
  const hcl = await parseConfigText(
    `
ui = true
api_addr = "https://coffer.example:8200"
default_lease_ttl = "1h"
max_lease_ttl = "720h"
listener "tcp" {
  address = "0.0.0.0:8200"
  tls_cert_file = "/etc/coffer/tls.crt"
  tls_key_file  = "/etc/coffer/tls.key"
}
storage "sqlite" {
  path = "/var/lib/coffer/coffer.db"
}
`,
    'coffer.hcl',
  );
  const json = await parseConfigText(
    JSON.stringify({
      ui: true,
      api_addr: 'https://coffer.example:8200',
      default_lease_ttl: '1h',
      max_lease_ttl: '720h',
      listener: { tcp: { address: '0.0.0.0:8200', tls_cert_file: '/etc/coffer/tls.crt', tls_key_file: '/etc/coffer/tls.key' } },
      storage: { sqlite: { path: '/var/lib/coffer/coffer.db' } },
    }),
    'coffer.json',
  );
  assert.deepEqual(hcl, json);
  assert.equal(hcl.defaultLeaseTTL, 3600);
  assert.equal(hcl.maxLeaseTTL, 720 * 3600);
  assert.equal(hcl.listeners[0].tlsDisable, false);
  assert.equal(hcl.listeners[0].maxRequestSize, 32 * 1024 * 1024);
  assert.equal(hcl.ui, true);
});

test('config errors name what is wrong', async () => {
  const cases: [string, RegExp][] = [
    ['listener "tcp" {\n address = "127.0.0.1:1"\n tls_disable = 1\n}', /exactly one storage block/],
    ['storage "sqlite" { path = "/tmp/x" }', /at least one listener/],
    ['storage "raft" { path = "/tmp/x" }\nlistener "tcp" { tls_disable = true }', /storage "raft" is not supported/],
    ['storage "sqlite" { path = "/tmp/x" }\nlistener "tcp" { address = "127.0.0.1:1" }', /tls_cert_file and tls_key_file are required/],
    ['storage "sqlite" { path = "/tmp/x" }\nlistener "unix" { tls_disable = true }', /listener "unix" is not supported/],
    ['storage "sqlite" { path = "/tmp/x" }\nlistener "tcp" { tls_disable = true }\nmax_lease_ttl = "forever"', /invalid duration for max_lease_ttl/],
    ['storage "sqlite" { path = "/tmp/x" }\nlistener "tcp" { tls_disable = true }\ndefault_lease_ttl = "2h"\nmax_lease_ttl = "1h"', /greater than max_lease_ttl/],
    ['storage "sqlite" {', /coffer.hcl/],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(parseConfigText(text, 'coffer.hcl'), (err: Error) => err instanceof ConfigError && message.test(err.message), text);
  }
});

test('storage "postgresql": Vault\'s keys, the URL from the environment (COFFER_ before VAULT_), and clear refusals', async () => {
  const listener = 'listener "tcp" { tls_disable = true }\n';
  const parse = (stanza: string) => parseConfigText(listener + stanza, 'coffer.hcl');
  const full = await parse(`storage "postgresql" {
  connection_url = "postgres://coffer@db:5432/coffer?sslmode=disable"
  table          = "vault.kv"
  max_parallel   = "8"
  ha_enabled     = "false"
  ha_table       = "vault_ha_locks"
}`);
  assert.deepEqual(full.storage, {
    type: 'postgresql', connectionUrl: 'postgres://coffer@db:5432/coffer?sslmode=disable', table: 'vault.kv', maxParallel: 8,
    haEnabled: false, haTable: 'vault_ha_locks', connectAttempts: undefined,
  });
  const saved = { c: process.env.COFFER_PG_CONNECTION_URL, v: process.env.VAULT_PG_CONNECTION_URL };
  try {
    process.env.VAULT_PG_CONNECTION_URL = 'postgresql://from-vault-env/db';
    delete process.env.COFFER_PG_CONNECTION_URL;
    const fromVault = await parse('storage "postgresql" {}');
    assert.deepEqual([fromVault.storage.type, (fromVault.storage as { connectionUrl: string }).connectionUrl, (fromVault.storage as { table: string }).table],
      ['postgresql', 'postgresql://from-vault-env/db', 'vault_kv_store']);
    process.env.COFFER_PG_CONNECTION_URL = 'postgresql://from-coffer-env/db';
    assert.equal(((await parse('storage "postgresql" {}')).storage as { connectionUrl: string }).connectionUrl, 'postgresql://from-coffer-env/db');
    delete process.env.COFFER_PG_CONNECTION_URL;
    delete process.env.VAULT_PG_CONNECTION_URL;
    const cases: [string, RegExp][] = [
      ['storage "postgresql" {}', /storage "postgresql" needs connection_url \(or COFFER_PG_CONNECTION_URL \/ VAULT_PG_CONNECTION_URL/],
      ['storage "postgresql" { connection_url = "mysql://x" }', /connection_url must be a postgres:\/\/ or postgresql:\/\/ URL/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n table = "x; DROP TABLE y"\n}', /table: must be a plain SQL name/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n max_parallel = "0"\n}', /max_parallel: must be a positive integer/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n ha_enabled = "maybe"\n}', /ha_enabled: expected a boolean/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n ha_enabled = "true"\n}', /ha_enabled = "true" is not available yet in coffer/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n ha_table = "a-b"\n}', /ha_table: must be a plain SQL name/],
      ['storage "postgresql" {\n connection_url = "postgres://x/y"\n tabel = "x"\n}', /tabel/],
    ];
    for (const [text, message] of cases) {
      await assert.rejects(parse(text), (err: Error) => err instanceof ConfigError && message.test(err.message), text);
    }
  } finally {
    for (const [name, value] of [['COFFER_PG_CONNECTION_URL', saved.c], ['VAULT_PG_CONNECTION_URL', saved.v]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

test('a TLS listener serves HTTPS with the given certificate; a bad config exits 1 with a message', async () => {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const configPath = path.join(dir, 'tls.hcl');
  writeFileSync(configPath, `storage "sqlite" { path = "${path.join(dir, 'tls.db')}" }
listener "tcp" {
  address       = "127.0.0.1:0"
  tls_cert_file = "${cert}"
  tls_key_file  = "${key}"
}`);
  const proc = await spawnServer([`-config=${configPath}`, '-log-level=error']);
  try {
    assert.match(proc.addr, /^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = new Agent({ connect: { ca: readFileSync(cert) } });
    const res = await request(`${proc.addr}/v1/sys/seal-status`, { dispatcher: trusted });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { initialized: boolean }).initialized, false);
    // Without the CA the certificate is not trusted.
    await assert.rejects(request(`${proc.addr}/v1/sys/seal-status`));
  } finally {
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  }

  const bad = path.join(dir, 'bad.hcl');
  writeFileSync(bad, 'storage "sqlite" { path = "/tmp/x" }\nlistener "tcp" { address = "127.0.0.1:0" }');
  const res = await runCoffer(['server', `-config=${bad}`]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /tls_cert_file and tls_key_file are required/);
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  const missing = await runCoffer(['server', `-config=${path.join(dir, 'nope.hcl')}`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read config file/);
});

test('dev mode: -dev-root-token-id and -dev-listen-address, secret/ is kv v2, SIGTERM exits 0', async () => {
  const proc = await spawnServer(['-dev', '-dev-no-store-token', '-dev-root-token-id=dev-root', '-dev-listen-address=127.0.0.1:0', '-log-level=error']);
  try {
    assert.match(proc.stdout(), /Root Token: dev-root/);
    const headers = { 'x-vault-token': 'dev-root' };
    const mounts = await request(`${proc.addr}/v1/sys/mounts`, { headers });
    const body = (await mounts.body.json()) as { data: Record<string, { type: string; options: { version: string } }> };
    assert.equal(body.data['secret/'].type, 'kv');
    assert.equal(body.data['secret/'].options.version, '2');
  } finally {
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  }
  const unknown = await runCoffer(['server', '-bogus']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /flag provided but not defined: -bogus/);
});
