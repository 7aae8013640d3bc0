/**
 * `coffer operator generate-root` and `coffer operator rekey` as real processes against a real server process
 * (SQLite, 5 shares / threshold 3): the vault CLI's flags, key shares as an argument, as "-" on stdin or as a
 * line of stdin without an argument, tables and JSON, exit codes, and a decode with the wrong OTP that fails
 * clearly instead of printing garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { client } from '../helpers/server.js';
import { runCoffer, spawnServer, type ServerProcess } from '../helpers/process.js';
import { onTerminal } from '../helpers/terminal.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-rootrekey-cli-'));
const configPath = path.join(dir, 'coffer.hcl');
writeFileSync(
  configPath,
  `storage "sqlite" {\n  path = "${path.join(dir, 'coffer.db')}"\n}\nlistener "tcp" {\n  address     = "127.0.0.1:0"\n  tls_disable = true\n}\n`,
);
let proc: ServerProcess | null = null;
test.after(async () => {
  proc?.child.kill('SIGKILL');
  await proc?.exited;
  rmSync(dir, { recursive: true, force: true });
});

/** A table cell of the vault CLI's column output. */
function cell(table: string, name: string): string {
  const m = new RegExp(`^${name}\\s{2,}(.*)$`, 'm').exec(table);
  assert.ok(m, `no "${name}" row in:\n${table}`);
  return m[1];
}

test('operator generate-root and operator rekey', { concurrency: false }, async (t) => {
  proc = await spawnServer([`-config=${configPath}`, '-log-level=error']);
  const anon = client(proc.addr, null);
  const init = await anon.put('sys/init', { secret_shares: 5, secret_threshold: 3 });
  let keys: string[] = init.body.keys_base64;
  const root: string = init.body.root_token;
  for (const key of keys.slice(0, 3)) await anon.put('sys/unseal', { key });
  // No token in the environment: these commands work from key shares alone.
  const env = { VAULT_ADDR: proc.addr, VAULT_TOKEN: '', COFFER_ADDR: '', COFFER_TOKEN: '', HOME: dir };
  const coffer = (args: string[], input?: string) => runCoffer(['operator', ...args], { env, input });
  const ok = async (args: string[], input?: string) => {
    const res = await coffer(args, input);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    return res;
  };

  await t.test('generate-root: status, a key with no attempt, refusals', async () => {
    const st = await ok(['generate-root', '-status']);
    assert.equal(cell(st.stdout, 'Started'), 'false');
    assert.equal(cell(st.stdout, 'Progress'), '0/3');
    assert.equal(cell(st.stdout, 'OTP Length'), '36');
    const none = await coffer(['generate-root', keys[0]]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No root generation is in progress\. Start a root generation by running\s+"coffer\s+operator generate-root -init"\./);
    const pgp = await coffer(['generate-root', '-init', '-pgp-key=abc']);
    assert.equal(pgp.code, 2);
    assert.match(pgp.stderr, /^Error initializing root generation: [\s\S]*pgp_key is not supported/);
  });

  await t.test('generate-root: -init shows the generated OTP once; -cancel ends the attempt', async () => {
    const started = await ok(['generate-root', '-init']);
    assert.match(cell(started.stdout, 'OTP'), /^[A-Za-z0-9]{36}$/);
    assert.match(started.stderr, /A One-Time-Password has been generated for you/);
    assert.equal(cell(started.stdout, 'Started'), 'true');
    const twice = await coffer(['generate-root', '-init']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /root generation already in progress/);
    const canceled = await ok(['generate-root', '-cancel']);
    assert.equal(canceled.stdout, 'Success! Root token generation canceled (if it was started)\n');
    assert.equal(cell((await ok(['generate-root', '-status'])).stdout, 'Started'), 'false');
  });

  await t.test('generate-root: -generate-otp, -init -otp, shares by argument, "-" and stdin, then -decode', async () => {
    const otp = (await ok(['generate-root', '-generate-otp'])).stdout.trim();
    assert.match(otp, /^[A-Za-z0-9]{36}$/);
    const started = JSON.parse((await ok(['generate-root', '-init', `-otp=${otp}`, '-format=json'])).stdout);
    assert.equal(started.otp, '');
    const nonce: string = started.nonce;

    const missing = await coffer(['generate-root', keys[0]]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Missing nonce value: specify it via the -nonce flag/);
    const wrongNonce = await coffer(['generate-root', '-nonce=nope', keys[0]]);
    assert.equal(wrongNonce.code, 2);
    assert.match(wrongNonce.stderr, /^Error posting unseal key: [\s\S]*incorrect nonce supplied/);

    assert.equal(cell((await ok(['generate-root', `-nonce=${nonce}`, keys[0]])).stdout, 'Progress'), '1/3');
    assert.equal(cell((await ok(['generate-root', `-nonce=${nonce}`, '-'], `${keys[1]}\n`)).stdout, 'Progress'), '2/3');
    const done = await ok(['generate-root'], `${keys[2]}\n`); // no argument, stdin not a terminal: one line, the attempt's nonce
    assert.equal(cell(done.stdout, 'Complete'), 'true');
    const encoded = cell(done.stdout, 'Encoded Token');

    const token = (await ok(['generate-root', `-decode=${encoded}`, `-otp=${otp}`])).stdout.trim();
    assert.match(token, /^cfs\./);
    assert.deepEqual((await client(proc!.addr, token).get('auth/token/lookup-self')).body.data.policies, ['root']);
    assert.deepEqual(JSON.parse((await ok(['generate-root', `-decode=${encoded}`, `-otp=${otp}`, '-format=json'])).stdout), { token });

    const otherOtp = (await ok(['generate-root', '-generate-otp'])).stdout.trim();
    const wrong = await coffer(['generate-root', `-decode=${encoded}`, `-otp=${otherOtp}`]);
    assert.deepEqual([wrong.code, wrong.stdout], [1, '']);
    assert.match(wrong.stderr, /^Error decoding token: the result is not a valid token/);
    const short = await coffer(['generate-root', `-decode=${encoded}`, '-otp=abc']);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /^Error xoring token: length of byte slices is not equivalent: 36 != 3/);
  });

  await t.test('generate-root with no KEY on a terminal shows the nonce and prompts without echoing the key', async () => {
    await ok(['generate-root', '-init']);
    const nonce = cell((await ok(['generate-root', '-status'])).stdout, 'Nonce');
    const { code, output } = await onTerminal(['operator', 'generate-root'], env, 'Unseal Key (will be hidden): ', keys[4]);
    assert.equal(code, 0, output);
    assert.ok(output.startsWith(`Operation nonce: ${nonce}\r\nUnseal Key (will be hidden): \r\n`), JSON.stringify(output));
    assert.ok(!output.includes(keys[4].slice(0, 12)), 'the key was echoed');
    assert.equal(cell(output.replace(/\r\n/g, '\n'), 'Progress'), '1/3');
    await ok(['generate-root', '-cancel']);
  });

  await t.test('rekey: status, a key with no rekey, bad parameters', async () => {
    const st = await ok(['rekey', '-status']);
    assert.equal(cell(st.stdout, 'Started'), 'false');
    const none = await coffer(['rekey', keys[0]]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No rekey is in progress/);
    const bad = await coffer(['rekey', '-init', '-key-shares=2', '-key-threshold=3']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^Error initializing rekey: [\s\S]*provided threshold greater than the total shares/);
    const negative = await coffer(['rekey', '-init', '-n=-1']);
    assert.equal(negative.code, 1);
    assert.match(negative.stderr, /invalid value "-1" for flag -n/);
  });

  await t.test('rekey 5/3 → 3/2: new keys printed; they unseal, the old ones do not', async () => {
    const started = await ok(['rekey', '-init', '-key-shares=3', '-key-threshold=2']);
    assert.match(started.stderr, /WARNING! If you lose the keys after they are returned, there is no recovery/);
    assert.equal(cell(started.stdout, 'New Shares'), '3');
    assert.equal(cell(started.stdout, 'Rekey Progress'), '0/3');
    const nonce = cell(started.stdout, 'Nonce');
    assert.equal(cell((await ok(['rekey', `-nonce=${nonce}`, keys[3]])).stdout, 'Rekey Progress'), '1/3');
    await ok(['rekey', `-nonce=${nonce}`, '-'], keys[4]);
    const done = await ok(['rekey'], `${keys[0]}\n`);
    const newKeys = [...done.stdout.matchAll(/^Key \d: (\S+)$/gm)].map((m) => m[1]);
    assert.equal(newKeys.length, 3);
    assert.match(done.stdout, /Coffer rekeyed with 3 key shares and a key threshold of 2\./);
    assert.equal((await client(proc!.addr, root).put('sys/seal')).status, 204);
    for (const key of keys.slice(0, 3)) await anon.put('sys/unseal', { key });
    assert.equal((await anon.get('sys/seal-status')).body.sealed, true, 'old shares');
    await anon.put('sys/unseal', { reset: true });
    for (const key of newKeys.slice(1)) await anon.put('sys/unseal', { key });
    assert.equal((await anon.get('sys/seal-status')).body.sealed, false, 'new shares');
    keys = newKeys;
  });

  await t.test('rekey -init -verify: the new key counts only after -verify', async () => {
    const started = JSON.parse((await ok(['rekey', '-init', '-n=1', '-t=1', '-verify', '-format=json'])).stdout);
    assert.equal(started.verification_required, true);
    await ok(['rekey', `-nonce=${started.nonce}`, keys[0]]);
    const issued = await ok(['rekey', `-nonce=${started.nonce}`, keys[1]]);
    const [newKey] = [...issued.stdout.matchAll(/^Key 1: (\S+)$/gm)].map((m) => m[1]);
    assert.match(issued.stdout, /These will not be active until after verification is complete/);
    assert.match(issued.stderr, /these key shares are _not_ valid until verification is performed/);
    assert.equal(cell(issued.stdout, 'Verification Progress'), '0/1');
    const vNonce = cell(issued.stdout, 'Nonce');

    const st = await ok(['rekey', '-status', '-verify', '-format=json']);
    assert.deepEqual(JSON.parse(st.stdout), { nonce: vNonce, started: true, t: 1, n: 1, progress: 0 });
    const restarted = await ok(['rekey', '-cancel', '-verify']);
    assert.equal(restarted.stdout, 'Success! Canceled rekeying (if it was started)\n');
    const fresh = cell((await ok(['rekey', '-status', '-verify'])).stdout, 'Nonce');
    assert.notEqual(fresh, vNonce);
    const stale = await coffer(['rekey', '-verify', `-nonce=${vNonce}`, newKey]);
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /incorrect nonce supplied; nonce for this verify operation/);

    const verified = await ok(['rekey', '-verify'], `${newKey}\n`);
    assert.match(verified.stdout, /^Rekey verification successful\./);
    assert.equal((await client(proc!.addr, root).put('sys/seal')).status, 204);
    await anon.put('sys/unseal', { key: newKey });
    assert.equal((await anon.get('sys/seal-status')).body.sealed, false);
  });

  await t.test('rekey -cancel', async () => {
    await ok(['rekey', '-init', '-n=2', '-t=2']);
    assert.equal((await ok(['rekey', '-cancel'])).stdout, 'Success! Canceled rekeying (if it was started)\n');
    assert.equal(cell((await ok(['rekey', '-status'])).stdout, 'Started'), 'false');
  });
});
