/**
 * The CRL under revocations in bulk and `config/crl`, over HTTP against live servers:
 *  - revoke-prefix of leased certificates: afterwards the CRL lists every serial, verifies with `openssl crl`
 *    against the CA, and was built a few times for the whole batch, not once per certificate (CRL numbers);
 *  - the revoke API answers only once the CRL lists the certificate, concurrent revocations included;
 *  - revocations acknowledged just before a kill -9 are on the CRL served after the restart;
 *  - config/crl: Vault's answer and checks, refusal of what coffer does not build (delta CRLs, OCSP,
 *    Enterprise settings), `disable` (an empty CRL, still signed), `auto_rebuild` (revocations reach the CRL at
 *    its next rebuild; the revoke answer says so), `expiry`, `max_crl_entries`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { client, postOk, postRefused, startDevServer, type TestServer } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';

const exec = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'coffer-pki-crl-'));
let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});
after(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ok = postOk;
const refused = (p: string, body: Record<string, unknown>, message: RegExp) => postRefused(root, p, body, message);

let mounts = 0;
/** A pki mount with an EC root and a role `leased` (generate_lease) and `plain`; returns its path. */
async function pkiMount(c: ReturnType<typeof client> = root): Promise<string> {
  const mount = `crl${++mounts}`;
  await ok(c, `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '8760h' } });
  await ok(c, `${mount}/root/generate/internal`, { common_name: `CRL test ${mount}`, key_type: 'ec', ttl: '8760h' });
  await ok(c, `${mount}/roles/leased`, { allow_any_name: true, key_type: 'ec', generate_lease: true, max_ttl: '1h' });
  await ok(c, `${mount}/roles/plain`, { allow_any_name: true, key_type: 'ec', max_ttl: '1h' });
  return mount;
}

async function issue(c: ReturnType<typeof client>, mount: string, role: string, count: number): Promise<string[]> {
  const serials: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < count) {
      const n = next++;
      serials.push((await ok(c, `${mount}/issue/${role}`, { common_name: `host-${n}.example`, ttl: '30m' })).data.serial_number);
    }
  }));
  return serials;
}

interface OpensslCrl {
  serials: string[];
  number: number;
  nextUpdate: Date;
  lastUpdate: Date;
}

/** The mount's CRL (DER from `<mount>/crl`) read and verified by `openssl crl` against the mount's CA. */
async function crlByOpenssl(addr: string, mount: string): Promise<OpensslCrl> {
  const res = await fetch(`${addr}/v1/${mount}/crl`);
  assert.equal(res.status, 200, `${mount}/crl answered ${res.status}`);
  const tag = `${mount}-${Math.random().toString(36).slice(2)}`;
  const crlFile = path.join(dir, `${tag}.crl`);
  const caFile = path.join(dir, `${tag}-ca.pem`);
  writeFileSync(crlFile, Buffer.from(await res.arrayBuffer()));
  writeFileSync(caFile, await (await fetch(`${addr}/v1/${mount}/ca/pem`)).text());
  const { stdout, stderr } = await exec('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-verify', '-noout', '-text']);
  assert.match(stderr, /verify OK/, 'the CRL verifies against the CA');
  const field = (re: RegExp) => re.exec(stdout)?.[1] ?? '';
  return {
    serials: [...stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].toLowerCase()),
    number: Number(field(/X509v3 CRL Number:\s*\n\s*(\d+)/)),
    lastUpdate: new Date(field(/Last Update: (.+)/)),
    nextUpdate: new Date(field(/Next Update: (.+)/)),
  };
}

/** Colon serial → the hex openssl prints (upper case there, compared in lower case). */
const hex = (serial: string) => serial.replace(/:/g, '').replace(/^0+(?=.)/, '').toLowerCase();
const opensslHex = (s: string) => s.replace(/^0+(?=.)/, '');

describe('revocations in bulk', () => {
  test('revoke-prefix of 100 leased certificates: the CRL lists all of them, verifies, and was built a few times, not 100', async () => {
    const mount = await pkiMount();
    const serials = await issue(root, mount, 'leased', 100);
    const before = await crlByOpenssl(srv.addr, mount);
    assert.deepEqual(before.serials, []);

    assert.equal((await root.post(`sys/leases/revoke-prefix/${mount}/issue/leased`)).status, 204);
    assert.equal((await root.list(`sys/leases/lookup/${mount}/issue/leased/`)).status, 404, 'no lease is left');
    const after = await crlByOpenssl(srv.addr, mount);
    assert.deepEqual(after.serials.map(opensslHex).sort(), serials.map(hex).sort());
    // One build per certificate would have raised the CRL number by 100.
    assert.ok(after.number - before.number < 20, `CRL builds for the batch: ${after.number - before.number}`);
    // Each record was written on its own: every certificate reads as revoked.
    const times = await Promise.all(serials.map(async (s) => (await root.get(`${mount}/cert/${s}`)).body.data.revocation_time));
    assert.ok(times.every((t) => t > 0));
  });

  test('the revoke API answers once the CRL lists the certificate, for 20 concurrent revocations', async () => {
    const mount = await pkiMount();
    const serials = await issue(root, mount, 'plain', 20);
    const start = (await crlByOpenssl(srv.addr, mount)).number;
    await Promise.all(serials.map(async (serial) => {
      const res = await ok(root, `${mount}/revoke`, { serial_number: serial });
      assert.equal(res.data.state, 'revoked');
      assert.equal(res.warnings, null, 'no warning: the CRL has it');
      const crl = await crlByOpenssl(srv.addr, mount);
      assert.ok(crl.serials.map(opensslHex).includes(hex(serial)), `${serial} on the CRL read after its revoke answered`);
    }));
    const end = (await crlByOpenssl(srv.addr, mount)).number;
    assert.ok(end - start <= 20, 'concurrent revocations share builds');
  });

  test('a revocation by lease, then by the API: the API answer still waits for the CRL', async () => {
    const mount = await pkiMount();
    const res = await root.post(`${mount}/issue/leased`, { common_name: 'both.example', ttl: '30m' });
    assert.equal((await root.post('sys/leases/revoke', { lease_id: res.body.lease_id })).status, 204);
    await ok(root, `${mount}/revoke`, { serial_number: res.body.data.serial_number });
    const stored = new Set((await crlByOpenssl(srv.addr, mount)).serials.map(opensslHex));
    assert.ok(stored.has(hex(res.body.data.serial_number)));
  });
});

describe('revocations survive kill -9', () => {
  /** A server process starts in a second or two; several test files at once on two cores can make it much more. */
  const START_TIMEOUT_MS = 60_000;
  let proc: ServerProcess | null = null;
  after(() => {
    proc?.child.kill('SIGKILL');
  });

  test('revoke-prefix acknowledged, then kill -9: the restarted server serves a CRL listing every revoked certificate', async (t) => {
    const dbPath = path.join(dir, 'crash.db');
    const configPath = path.join(dir, 'crash.hcl');
    writeFileSync(configPath, `storage "sqlite" {\n  path = "${dbPath}"\n}\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n`);
    proc = await spawnServer([`-config=${configPath}`, '-log-level=error'], START_TIMEOUT_MS);
    const init = await client(proc.addr, null).put('sys/init', { secret_shares: 1, secret_threshold: 1 });
    assert.equal(init.status, 200, init.text);
    const unseal = async (addr: string) => assert.equal((await client(addr, null).put('sys/unseal', { key: init.body.keys[0] })).body.sealed, false);
    await unseal(proc.addr);
    let c = client(proc.addr, init.body.root_token);
    const mount = await pkiMount(c);
    const serials = await issue(c, mount, 'leased', 30);
    assert.equal((await c.post(`sys/leases/revoke-prefix/${mount}/issue/leased`)).status, 204);
    proc.child.kill('SIGKILL');
    await proc.exited;

    // Storage keys are plaintext: whether the kill came before the CRL build shows in the pending markers.
    const db = new Database(dbPath, { readonly: true });
    const pending = (db.prepare("SELECT count(*) AS n FROM entries WHERE key LIKE '%/crl_pending/%'").get() as { n: number }).n;
    db.close();
    t.diagnostic(`revocations not yet on the stored CRL at the kill: ${pending}`);

    proc = await spawnServer([`-config=${configPath}`, '-log-level=error'], START_TIMEOUT_MS);
    await unseal(proc.addr);
    c = client(proc.addr, init.body.root_token);
    const crl = await crlByOpenssl(proc.addr, mount);
    assert.deepEqual(crl.serials.map(opensslHex).sort(), serials.map(hex).sort());
    proc.child.kill('SIGTERM');
    await proc.exited;
    proc = null;
  });
});

describe('config/crl', () => {
  test('read gives Vault\'s fields and defaults; a write answers with the new configuration and is kept', async () => {
    const mount = await pkiMount();
    const read = await root.get(`${mount}/config/crl`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data, {
      expiry: '72h', disable: false, ocsp_disable: true, ocsp_expiry: '12h', auto_rebuild: false,
      auto_rebuild_grace_period: '12h', enable_delta: false, delta_rebuild_interval: '15m',
      cross_cluster_revocation: false, unified_crl: false, unified_crl_on_existing_paths: false, max_crl_entries: 100000,
    });
    const written = await ok(root, `${mount}/config/crl`, { expiry: '48h', auto_rebuild: true, auto_rebuild_grace_period: '8h', max_crl_entries: 500 });
    assert.equal(written.data.expiry, '48h');
    assert.equal(written.data.auto_rebuild, true);
    const again = (await root.get(`${mount}/config/crl`)).body.data;
    assert.deepEqual(again, written.data);
    assert.equal(again.auto_rebuild_grace_period, '8h');
    assert.equal(again.max_crl_entries, 500);
    // What a read answers can be written back as it is (Terraform and read-modify-write scripts do).
    await ok(root, `${mount}/config/crl`, again);
    // Only an authorised token may read or write it.
    assert.equal((await client(srv.addr, null).get(`${mount}/config/crl`)).status, 403);
  });

  test('bad values and settings of features coffer does not have are refused with 400 naming them', async () => {
    const mount = await pkiMount();
    await refused(`${mount}/config/crl`, { expiry: 'soon' }, /given expiry could not be decoded/);
    await refused(`${mount}/config/crl`, { auto_rebuild: true, auto_rebuild_grace_period: '72h' }, /grace period \(72h\) must be strictly shorter than CRL expiry \(72h\)/);
    await refused(`${mount}/config/crl`, { enable_delta: true }, /enable_delta cannot be set to true: coffer does not build delta CRLs/);
    await refused(`${mount}/config/crl`, { delta_rebuild_interval: '5m' }, /delta_rebuild_interval cannot be set/);
    await refused(`${mount}/config/crl`, { ocsp_disable: false }, /ocsp_disable cannot be set to false: coffer has no OCSP responder/);
    await refused(`${mount}/config/crl`, { ocsp_expiry: '1h' }, /ocsp_expiry cannot be set/);
    await refused(`${mount}/config/crl`, { ocsp_expiry: 'never' }, /given ocsp_expiry could not be decoded/);
    await refused(`${mount}/config/crl`, { unified_crl: true }, /unified_crl cannot be set to true: .*Enterprise/);
    await refused(`${mount}/config/crl`, { cross_cluster_revocation: true }, /cross_cluster_revocation cannot be set/);
    await refused(`${mount}/config/crl`, { max_crl_entries: 0 }, /max_crl_entries must be a positive number, or -1/);
    await refused(`${mount}/config/crl`, { expiry: '24h', frobnicate: true }, /frobnicate/);
    // The defaults of those features are accepted (in Go's other spellings too), and nothing changed above.
    await ok(root, `${mount}/config/crl`, { enable_delta: false, ocsp_disable: true, ocsp_expiry: '720m', delta_rebuild_interval: '900s', unified_crl: false });
    assert.equal((await root.get(`${mount}/config/crl`)).body.data.expiry, '72h');
  });

  test('expiry sets the CRL\'s validity from the next build on', async () => {
    const mount = await pkiMount();
    await ok(root, `${mount}/config/crl`, { expiry: '2h' });
    assert.equal((await root.get(`${mount}/crl/rotate`)).body.data.success, true);
    const crl = await crlByOpenssl(srv.addr, mount);
    assert.equal((crl.nextUpdate.getTime() - crl.lastUpdate.getTime()) / 1000, 7200);
  });

  test('disable: the CRL is empty but signed; revocations are still recorded and listed once it is enabled again', async () => {
    const mount = await pkiMount();
    const [kept, later] = await issue(root, mount, 'plain', 2);
    await ok(root, `${mount}/revoke`, { serial_number: kept });
    assert.equal((await crlByOpenssl(srv.addr, mount)).serials.length, 1);
    await ok(root, `${mount}/config/crl`, { disable: true });
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials, [], 'empty, and openssl verified its signature');
    const res = await ok(root, `${mount}/revoke`, { serial_number: later });
    assert.match(res.warnings.join('\n'), /the CRL is disabled/);
    assert.ok((await root.get(`${mount}/cert/${later}`)).body.data.revocation_time > 0);
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials, []);
    await ok(root, `${mount}/config/crl`, { disable: false });
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials.map(opensslHex).sort(), [kept, later].map(hex).sort());
  });

  test('auto_rebuild: a revocation reaches the CRL at its next rebuild (near expiry, or crl/rotate), and the answer says so', async () => {
    const mount = await pkiMount();
    const [first, second] = await issue(root, mount, 'plain', 2);
    await ok(root, `${mount}/config/crl`, { auto_rebuild: true, expiry: '1h', auto_rebuild_grace_period: '10m' });
    const res = await ok(root, `${mount}/revoke`, { serial_number: first });
    assert.match(res.warnings.join('\n'), /auto_rebuild is enabled .* from its next rebuild/);
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials, [], 'not rebuilt on revocation');
    await root.get(`${mount}/crl/rotate`);
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials.map(opensslHex), [hex(first)]);

    // A CRL inside its grace period is rebuilt in the background when read: expiry 3s with a 2s grace period
    // puts the CRL built now into its grace period one second later.
    await ok(root, `${mount}/config/crl`, { expiry: '3s', auto_rebuild_grace_period: '2s' });
    await root.get(`${mount}/crl/rotate`);
    await ok(root, `${mount}/revoke`, { serial_number: second });
    assert.equal((await crlByOpenssl(srv.addr, mount)).serials.length, 1, 'not yet: the CRL is outside its grace period');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    let listed: string[] = [];
    for (let i = 0; i < 100 && listed.length < 2; i++) {
      listed = (await crlByOpenssl(srv.addr, mount)).serials;
      if (listed.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(listed.map(opensslHex).sort(), [first, second].map(hex).sort());

    // Turning auto_rebuild off rebuilds at once, as in Vault.
    const [third] = await issue(root, mount, 'plain', 1);
    await ok(root, `${mount}/config/crl`, { expiry: '1h' });
    await ok(root, `${mount}/revoke`, { serial_number: third });
    await ok(root, `${mount}/config/crl`, { auto_rebuild: false });
    assert.equal((await crlByOpenssl(srv.addr, mount)).serials.length, 3);
  });

  test('max_crl_entries: a revocation that would exceed it fails its CRL build, and the CRL is not served short', async () => {
    const mount = await pkiMount();
    const [a, b] = await issue(root, mount, 'plain', 2);
    await ok(root, `${mount}/config/crl`, { max_crl_entries: 1 });
    await ok(root, `${mount}/revoke`, { serial_number: a });
    await refused(`${mount}/revoke`, { serial_number: b }, /the CRL would list 2 revoked certificates, more than max_crl_entries \(1\)/);
    assert.ok((await root.get(`${mount}/cert/${b}`)).body.data.revocation_time > 0, 'the revocation itself is recorded');
    const crl = await fetch(`${srv.addr}/v1/${mount}/crl`);
    assert.equal(crl.status, 400, 'a CRL without the acknowledged revocation is never served');
    assert.match(((await crl.json()) as { errors: string[] }).errors[0], /max_crl_entries/);
    await ok(root, `${mount}/config/crl`, { max_crl_entries: -1 });
    assert.deepEqual((await crlByOpenssl(srv.addr, mount)).serials.map(opensslHex).sort(), [a, b].map(hex).sort());
  });
});
