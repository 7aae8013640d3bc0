/**
 * sys/generate-root and sys/rekey over HTTP against a real `coffer server -config` process (SQLite in a
 * temporary directory): Vault's status bodies and errors, the OTP encoding of the new root token, new shares
 * that unseal after a seal and after a restart while the old ones no longer do, verification, 503 while sealed,
 * and an audit log that never holds a share, an OTP or a token in clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { client } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { decodeToken, randomBase62 } from '../../src/shared/otp.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-rootrekey-'));
const configPath = path.join(dir, 'coffer.hcl');
const auditPath = path.join(dir, 'audit.log');
writeFileSync(
  configPath,
  `storage "sqlite" {\n  path = "${path.join(dir, 'coffer.db')}"\n}\nlistener "tcp" {\n  address     = "127.0.0.1:0"\n  tls_disable = true\n}\n`,
);

let proc: ServerProcess | null = null;
let addr = '';
async function restart() {
  if (proc) {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
  proc = await spawnServer([`-config=${configPath}`, '-log-level=error']);
  addr = proc.addr;
}
test.after(async () => {
  proc?.child.kill('SIGKILL');
  await proc?.exited;
  rmSync(dir, { recursive: true, force: true });
});

const anon = () => client(addr, null);
/** Everything secret that went over the wire, to look for in the audit log afterwards. */
const secrets = new Set<string>();
const remember = (...values: string[]) => values.forEach((v) => secrets.add(v));

async function unsealWith(keys: string[]): Promise<boolean> {
  let sealed = true;
  for (const key of keys) {
    const res = await anon().put('sys/unseal', { key });
    if (res.status !== 200) return false;
    sealed = res.body.sealed;
  }
  return !sealed;
}

async function sealWith(token: string) {
  const res = await client(addr, token).put('sys/seal');
  assert.equal(res.status, 204, res.text);
}

/** A share of the right length that belongs to no key: one byte of a real share flipped. */
function forged(hexShare: string): string {
  const bytes = Buffer.from(hexShare, 'hex');
  bytes[0] ^= 0xff;
  return bytes.toString('hex');
}

function assertError(res: { status: number; body: any; text: string }, status: number, message: RegExp) {
  assert.equal(res.status, status, res.text);
  assert.match(res.body.errors.join('\n'), message);
}

test('generate-root and rekey', { concurrency: false }, async (t) => {
  await restart();
  const init = await anon().put('sys/init', { secret_shares: 5, secret_threshold: 3 });
  let keys: string[] = init.body.keys;
  const root: string = init.body.root_token;
  remember(...keys, ...init.body.keys_base64, root);
  assert.ok(await unsealWith(keys.slice(0, 3)));
  assert.equal((await client(addr, root).put('sys/audit/file', { type: 'file', options: { file_path: auditPath } })).status, 204);

  await t.test('generate-root: status before any attempt, and refusals', async () => {
    const st = await anon().get('sys/generate-root/attempt');
    assert.equal(st.status, 200);
    assert.deepEqual(st.body, {
      nonce: '', started: false, progress: 0, required: 3, complete: false, encoded_token: '', encoded_root_token: '',
      pgp_fingerprint: '', otp: '', otp_length: 36,
    });
    assertError(await anon().put('sys/generate-root/update', { key: keys[0], nonce: 'x' }), 400, /^no root generation in progress$/);
    assertError(await anon().put('sys/generate-root/attempt', { pgp_key: 'bWFkZSB1cA==' }), 400, /pgp_key is not supported/);
    assertError(await anon().put('sys/generate-root/attempt', { otp: 'short' }), 400, /^OTP string is wrong length$/);
    assert.equal((await anon().get('sys/generate-root/attempt')).body.started, false);
  });

  await t.test('generate-root: generated OTP, wrong nonce, bad shares reset progress, then a working root token', async () => {
    const start = await anon().put('sys/generate-root/attempt');
    assert.equal(start.status, 200, start.text);
    const { otp, nonce } = start.body;
    remember(otp);
    assert.match(otp, /^[A-Za-z0-9]{36}$/);
    assert.equal(start.body.started, true);
    assert.equal((await anon().get('sys/generate-root/attempt')).body.otp, '', 'the OTP is shown only once');
    assertError(await anon().put('sys/generate-root/attempt'), 400, /^root generation already in progress$/);

    const update = (key: string, n = nonce) => anon().put('sys/generate-root/update', { key, nonce: n });
    assertError(await update(keys[0], 'not-the-nonce'), 400, new RegExp(`^incorrect nonce supplied; nonce for this root generation operation is "${nonce}"$`));
    assertError(await anon().put('sys/generate-root/update', { nonce }), 400, /^'key' must be specified in request body as JSON$/);
    assertError(await update('abcd'), 400, /^key is shorter than minimum 16 bytes$/);
    assertError(await update(Buffer.alloc(40, 1).toString('base64')), 400, /^key is longer than maximum 33 bytes$/);
    assert.equal((await anon().get('sys/generate-root/attempt')).body.progress, 0);

    const first = await update(keys[0]);
    assert.deepEqual([first.body.progress, first.body.required, first.body.complete], [1, 3, false]);
    assertError(await update(keys[0]), 400, /^given key has already been provided during this generation operation$/);
    await update(keys[1]);
    assertError(await update(forged(keys[2])), 400, /^root generation aborted: unable to authenticate/);
    const after = (await anon().get('sys/generate-root/attempt')).body;
    assert.deepEqual([after.started, after.nonce, after.progress], [true, nonce, 0], 'the attempt stays, its progress is reset');

    await update(keys[4]);
    await update(Buffer.from(keys[2], 'hex').toString('base64')); // base64 as well as hex
    const done = await update(keys[3]);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.complete, true);
    assert.equal(done.body.encoded_token, done.body.encoded_root_token);
    assert.doesNotMatch(done.body.encoded_token, /=/, 'base64 without padding');
    remember(done.body.encoded_token);

    const token = decodeToken(done.body.encoded_token, otp);
    remember(token);
    assert.match(token, /^cfs\.[A-Za-z0-9_-]{32}$/);
    const self = await client(addr, token).get('auth/token/lookup-self');
    assert.equal(self.status, 200);
    assert.deepEqual(self.body.data.policies, ['root']);

    const wrong = decodeToken(done.body.encoded_token, randomBase62(36));
    assert.doesNotMatch(wrong, /^cfs\./);
    assert.equal((await client(addr, wrong.replace(/[^\x21-\x7e]/g, 'x')).get('auth/token/lookup-self')).status, 403);
    assert.equal((await anon().get('sys/generate-root/attempt')).body.started, false, 'a finished attempt is over');
  });

  await t.test('generate-root: an OTP given at start (legacy flow) is not echoed and decodes the token', async () => {
    const otp = randomBase62(36);
    remember(otp);
    const start = await anon().put('sys/generate-root/attempt', { otp });
    assert.equal(start.body.otp, '');
    let res;
    for (const key of keys.slice(2, 5)) res = await anon().put('sys/generate-root/update', { key, nonce: start.body.nonce });
    remember(res!.body.encoded_token);
    const token = decodeToken(res!.body.encoded_token, otp);
    remember(token);
    assert.equal((await client(addr, token).get('sys/mounts')).status, 200);
  });

  await t.test('generate-root: DELETE cancels the attempt and its progress', async () => {
    const start = await anon().put('sys/generate-root/attempt');
    remember(start.body.otp);
    await anon().put('sys/generate-root/update', { key: keys[0], nonce: start.body.nonce });
    assert.equal((await anon().delete('sys/generate-root/attempt')).status, 204);
    const st = (await anon().get('sys/generate-root/attempt')).body;
    assert.deepEqual([st.started, st.progress, st.nonce], [false, 0, '']);
    assertError(await anon().put('sys/generate-root/update', { key: keys[1], nonce: start.body.nonce }), 400, /^no root generation in progress$/);
  });

  await t.test('rekey: status and refusals at start', async () => {
    const st = await anon().get('sys/rekey/init');
    assert.deepEqual(st.body, { nonce: '', started: false, t: 0, n: 0, progress: 0, required: 3, pgp_fingerprints: null, backup: false, verification_required: false });
    assertError(await anon().put('sys/rekey/update', { key: keys[0], nonce: 'x' }), 400, /^no barrier rekey in progress$/);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 3, secret_threshold: 2, pgp_keys: ['a', 'b', 'c'] }), 400, /pgp_keys is not supported/);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 3, secret_threshold: 2, backup: true }), 400, /^cannot request a backup of the new keys without providing PGP keys for encryption$/);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 2, secret_threshold: 3 }), 400, /^provided threshold greater than the total shares$/);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 3, secret_threshold: 1 }), 400, /^invalid rekey seal configuration: threshold must be greater than one for multiple shares$/);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 300, secret_threshold: 2 }), 400, /^invalid rekey seal configuration: secret_shares must be between 1 and 255$/);
    assertError(await anon().get('sys/rekey/verify'), 400, /^no rekey configuration found$/);
    assert.equal((await anon().get('sys/rekey/init')).body.started, false);
  });

  await t.test('rekey 5/3 → 3/2: bad shares reset progress; the new shares replace the old ones', async () => {
    const start = await anon().put('sys/rekey/init', { secret_shares: 3, secret_threshold: 2 });
    assert.equal(start.status, 200, start.text);
    const { nonce } = start.body;
    assert.deepEqual([start.body.started, start.body.t, start.body.n, start.body.required], [true, 2, 3, 3]);
    assertError(await anon().put('sys/rekey/init', { secret_shares: 3, secret_threshold: 2 }), 400, /^rekey already in progress$/);
    const update = (key: string, n = nonce) => anon().put('sys/rekey/update', { key, nonce: n });
    assertError(await update(keys[0], 'nope'), 400, new RegExp(`^incorrect nonce supplied; nonce for this rekey operation is "${nonce}"$`));
    assertError(await update('00ff'), 400, /^key is shorter than minimum 16 bytes$/);
    assert.equal((await update(keys[0])).body.progress, 1);
    assertError(await update(keys[0]), 400, /^given key has already been provided/);
    assert.equal((await update(Buffer.alloc(20, 9).toString('hex'))).body.progress, 2, 'a key of another length is only found out when combining');
    assertError(await update(keys[1]), 400, /^failed to compute root key: shares have different lengths$/);
    assert.equal((await anon().get('sys/rekey/init')).body.progress, 0);
    await update(keys[0]);
    await update(keys[1]);
    assertError(await update(forged(keys[2])), 400, /^root key verification failed/);
    assert.equal((await anon().get('sys/rekey/init')).body.progress, 0);

    await update(keys[2]);
    await update(keys[3]);
    const done = await update(keys[4]);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.complete, true);
    assert.equal(done.body.verification_required, false);
    assert.equal(done.body.keys.length, 3);
    assert.equal(Buffer.from(done.body.keys_base64[1], 'base64').toString('hex'), done.body.keys[1]);
    remember(...done.body.keys, ...done.body.keys_base64);
    assert.equal((await anon().get('sys/rekey/init')).body.started, false);
    assert.deepEqual([(await anon().get('sys/seal-status')).body.t, (await anon().get('sys/seal-status')).body.n], [2, 3]);

    const old = keys;
    keys = done.body.keys;
    await sealWith(root);
    assert.equal(await unsealWith(old.slice(0, 3)), false, 'the old shares no longer unseal');
    await anon().put('sys/unseal', { reset: true });
    assert.ok(await unsealWith([keys[2], keys[0]]), 'two of the new shares unseal');

    await restart();
    assert.equal(await unsealWith(old.slice(2, 5)), false, 'after a restart the old shares still do not unseal');
    await anon().put('sys/unseal', { reset: true });
    assert.ok(await unsealWith(keys.slice(1, 3)));
    assert.equal((await client(addr, root).get('sys/mounts')).status, 200, 'data and tokens are intact');
  });

  await t.test('rekey with verification: nothing changes until the new shares are proven', async () => {
    const start = await anon().put('sys/rekey/init', { secret_shares: 1, secret_threshold: 1, require_verification: true });
    assert.equal(start.body.verification_required, true);
    await anon().put('sys/rekey/update', { key: keys[0], nonce: start.body.nonce });
    const done = await anon().put('sys/rekey/update', { key: keys[1], nonce: start.body.nonce });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.keys.length, 1);
    const newKey: string = done.body.keys[0];
    remember(newKey, done.body.keys_base64[0]);
    const vNonce: string = done.body.verification_nonce;
    assert.match(vNonce, /^[0-9a-f-]{36}$/);
    assert.equal((await anon().get('sys/rekey/init')).body.verification_nonce, vNonce);
    assertError(await anon().put('sys/rekey/update', { key: keys[2], nonce: start.body.nonce }), 400, /^rekey operation already finished; verification must be performed/);
    assert.deepEqual((await anon().get('sys/rekey/verify')).body, { nonce: vNonce, started: true, t: 1, n: 1, progress: 0 });

    assertError(await anon().put('sys/rekey/verify', { key: newKey, nonce: 'nope' }), 400, new RegExp(`^incorrect nonce supplied; nonce for this verify operation is "${vNonce}"$`));
    assertError(await anon().put('sys/rekey/verify', { key: Buffer.alloc(32, 7).toString('hex'), nonce: vNonce }), 400, /^rekey verification failed; incorrect key shares supplied$/);
    const rotated = (await anon().get('sys/rekey/verify')).body.nonce;
    assert.notEqual(rotated, vNonce, 'a failed verification gets a new nonce');
    const restarted = await anon().delete('sys/rekey/verify');
    assert.equal(restarted.status, 200);
    assert.notEqual(restarted.body.nonce, rotated);

    // Unverified, the new key is not in force: sealing drops the whole operation and the old shares still unseal.
    await sealWith(root);
    assert.equal(await unsealWith([newKey]), false);
    await anon().put('sys/unseal', { reset: true });
    assert.ok(await unsealWith(keys.slice(0, 2)));
    assert.equal((await anon().get('sys/rekey/init')).body.started, false);

    const again = await anon().put('sys/rekey/init', { secret_shares: 1, secret_threshold: 1, require_verification: true });
    await anon().put('sys/rekey/update', { key: keys[1], nonce: again.body.nonce });
    const issued = await anon().put('sys/rekey/update', { key: keys[2], nonce: again.body.nonce });
    const key: string = issued.body.keys_base64[0];
    remember(key, issued.body.keys[0]);
    const verified = await anon().put('sys/rekey/verify', { key, nonce: issued.body.verification_nonce });
    assert.deepEqual(verified.body, { nonce: issued.body.verification_nonce, complete: true });
    assert.equal((await anon().get('sys/rekey/init')).body.started, false);
    await sealWith(root);
    assert.equal(await unsealWith(keys.slice(0, 2)), false, 'verified: the old shares stop working');
    await anon().put('sys/unseal', { reset: true });
    assert.ok(await unsealWith([key]));
    keys = [issued.body.keys[0]];
  });

  await t.test('rekey: DELETE cancels', async () => {
    const start = await anon().put('sys/rekey/init', { secret_shares: 2, secret_threshold: 2 });
    assert.equal(start.status, 200);
    assert.equal((await anon().delete('sys/rekey/init')).status, 204);
    assert.equal((await anon().get('sys/rekey/init')).body.started, false);
    assertError(await anon().put('sys/rekey/update', { key: keys[0], nonce: start.body.nonce }), 400, /^no barrier rekey in progress$/);
  });

  await t.test('every path answers 503 while sealed', async () => {
    await sealWith(root);
    for (const [method, p] of [
      ['GET', 'sys/generate-root/attempt'], ['PUT', 'sys/generate-root/attempt'], ['PUT', 'sys/generate-root/update'], ['DELETE', 'sys/generate-root/attempt'],
      ['GET', 'sys/rekey/init'], ['PUT', 'sys/rekey/init'], ['PUT', 'sys/rekey/update'], ['GET', 'sys/rekey/verify'], ['PUT', 'sys/rekey/verify'],
    ]) {
      const c = anon();
      const res = method === 'GET' ? await c.get(p) : method === 'DELETE' ? await c.delete(p) : await c.put(p, { key: keys[0], nonce: 'x', secret_shares: 1, secret_threshold: 1 });
      assertError(res, 503, /^Vault is sealed$/);
    }
    assert.ok(await unsealWith(keys));
  });

  await t.test('the audit log records the calls but never a share, an OTP or a token in clear', async () => {
    const log = readFileSync(auditPath, 'utf8');
    assert.match(log, /sys\/generate-root\/update/);
    assert.match(log, /sys\/rekey\/verify/);
    for (const s of secrets) assert.equal(log.includes(s), false, `the audit log contains ${s.slice(0, 6)}…`);
  });
});
