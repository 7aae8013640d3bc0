/**
 * Audit of refused requests and of broken audit devices, against a live dev server: requests refused with 403
 * (ACL, sudo, unknown or revoked token) or 400 leave a request and a response entry with their error and no
 * clear token; enabling a device that cannot write is refused; a device that breaks later can be disabled,
 * also after a seal and unseal (which used to fail or leave every request at 500 with no way out).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDevServer, client, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let root: ReturnType<typeof client>;
const tmp = mkdtempSync(path.join(tmpdir(), 'coffer-audit-refusals-'));

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});

after(async () => {
  try {
    await srv?.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const readLines = (file: string): any[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function enableDevice(name: string): Promise<string> {
  const file = path.join(tmp, `${name}.log`);
  const res = await root.put(`sys/audit/${name}`, { type: 'file', options: { file_path: file } });
  assert.equal(res.status, 204, res.text);
  return file;
}

async function tokenWith(...policies: string[]): Promise<string> {
  const res = await root.post('auth/token/create', { policies, ttl: '1h' });
  assert.equal(res.status, 200, res.text);
  return res.body.auth.client_token;
}

/** The request and response entries of `path` (optionally only those with `operation`). */
function entriesFor(file: string, requestPath: string, operation?: string) {
  const all = readLines(file).filter((e) => e.request?.path === requestPath && (!operation || e.request.operation === operation));
  return { request: all.filter((e) => e.type === 'request'), response: all.filter((e) => e.type === 'response') };
}

test('refused requests are audited: a non-admin probing sys/audit disable, an ACL denial and a 400 after the token is known', async () => {
  const file = await enableDevice('refusals');
  try {
    await probeAndCheck(file);
  } finally {
    await root.delete('sys/audit/refusals');
  }
});

async function probeAndCheck(file: string) {
  const user = await tokenWith('default');
  const u = client(srv.addr, user);
  assert.equal((await u.delete('sys/audit/refusals')).status, 403);
  assert.equal((await u.get('secret/data/not-mine')).status, 403);
  const bad = await u.post('auth/token/renew-self', ['not', 'an', 'object']);
  assert.equal(bad.status, 400, bad.text);

  const userHash = (await root.post('sys/audit-hash/refusals', { input: user })).body.data.hash;
  for (const [p, op, status, error] of [
    ['sys/audit/refusals', 'delete', 403, 'permission denied'],
    ['secret/data/not-mine', 'read', 403, 'permission denied'],
    ['auth/token/renew-self', 'update', 400, bad.body.errors.join('; ')],
  ] as const) {
    const { request, response } = entriesFor(file, p, op);
    assert.equal(request.length, 1, `${p}: one request entry`);
    assert.equal(response.length, 1, `${p}: one response entry`);
    assert.equal(request[0].request.id, response[0].request.id);
    assert.equal(request[0].error, error);
    assert.equal(response[0].error, error);
    assert.equal(response[0].status, status);
    assert.equal(request[0].auth.client_token, userHash, 'the token is HMACed as for allowed requests');
    assert.deepEqual(request[0].auth.policies, ['default']);
    assert.match(request[0].auth.accessor, /^hmac-sha256:/);
  }
  // The device is still enabled: the probe changed nothing.
  assert.ok((await root.get('sys/audit')).body.data['refusals/']);
}

test('an unknown or revoked token leaves entries with its HMAC, never its clear value', async () => {
  const file = await enableDevice('unknown');
  const unknown = 'cfs.this-token-was-never-issued-0123456789';
  assert.equal((await client(srv.addr, unknown).get('secret/data/probe')).status, 403);
  const revoked = await tokenWith('default');
  assert.equal((await root.post('auth/token/revoke', { token: revoked })).status, 204);
  assert.equal((await client(srv.addr, revoked).get('secret/data/probe-revoked')).status, 403);

  for (const [token, p] of [[unknown, 'secret/data/probe'], [revoked, 'secret/data/probe-revoked']]) {
    const { request, response } = entriesFor(file, p);
    assert.equal(request.length, 1, `${p}: one request entry`);
    assert.equal(response.length, 1, `${p}: one response entry`);
    assert.equal(response[0].status, 403);
    assert.equal(response[0].error, 'permission denied');
    const hash = (await root.post('sys/audit-hash/unknown', { input: token })).body.data.hash;
    assert.equal(request[0].request.client_token, hash);
    assert.equal(request[0].auth.accessor, undefined, 'no token, so no accessor');
  }
  const raw = readFileSync(file, 'utf8');
  assert.ok(!raw.includes(unknown) && !raw.includes(revoked), 'no clear token in the audit file');
  assert.ok(!raw.includes(Buffer.from(unknown).toString('base64')));
  assert.equal((await root.delete('sys/audit/unknown')).status, 204);
});

test('enabling a device that cannot write is refused with 400 naming the device and the OS error', async () => {
  const dir = path.join(tmp, 'a-directory');
  mkdirSync(dir);
  const regular = path.join(tmp, 'regular-file');
  writeFileSync(regular, '');
  const cases: [string, string, RegExp][] = [
    ['full', '/dev/full', /^sys\/audit: audit device "full\/" failed its test write to "\/dev\/full": no space left on device \(ENOSPC\)$/],
    ['dir', dir, /^sys\/audit: audit device "dir\/" failed its test write to ".*a-directory": the path is a directory \(EISDIR\)$/],
    ['under-file', path.join(regular, 'audit.log'), /^sys\/audit: audit device "under-file\/" failed .*: a parent of the path is not a directory \(ENOTDIR\)$/],
  ];
  for (const [name, filePath, message] of cases) {
    const res = await root.put(`sys/audit/${name}`, { type: 'file', options: { file_path: filePath } });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.errors[0], message);
    assert.equal((await root.get('sys/audit')).body.data[`${name}/`], undefined);
  }
  // Requests still work: nothing was enabled.
  assert.equal((await root.get('sys/mounts')).status, 200);
  // skip_test (Vault's option) enables without the test entry; the device then fails closed on use.
  const skipped = await root.put('sys/audit/full', { type: 'file', options: { file_path: '/dev/full', skip_test: 'true' } });
  assert.equal(skipped.status, 204, skipped.text);
  assert.equal((await root.get('sys/mounts')).status, 500);
  assert.equal((await root.delete('sys/audit/full')).status, 204, 'the broken device can be disabled');
  assert.equal((await root.get('sys/mounts')).status, 200);
  // A working device gets the test entry when enabled.
  const file = await enableDevice('tested');
  assert.deepEqual(readLines(file).map((e) => [e.type, e.request.path]), [['request', 'sys/audit/test']]);
  assert.equal((await root.delete('sys/audit/tested')).status, 204);
});

test('a device that fails later: requests fail closed, across a seal and unseal too, and the device can still be disabled', async () => {
  const file = await enableDevice('later');
  assert.equal((await root.get('sys/mounts')).status, 200);
  rmSync(file);
  mkdirSync(file); // no process, root included, can append to a directory
  try {
    assert.equal((await root.get('sys/mounts')).status, 500);
    assert.equal((await root.put('sys/seal')).status, 500, 'sealing is audited too');
    // Seal from inside (a restart does the same): unsealing loads the broken device without failing.
    await srv.server.core.sealCore();
    const unseal = await client(srv.addr, null).put('sys/unseal', { key: srv.server.unsealKey });
    assert.equal(unseal.status, 200, unseal.text);
    assert.equal(unseal.body.sealed, false);
    assert.equal((await root.get('sys/mounts')).status, 500, 'still fail closed');
    assert.equal((await root.delete('sys/audit/not-enabled')).status, 500, 'only disabling an enabled device is let through');
    const stranger = client(srv.addr, 'cfs.not-a-token-of-this-server');
    assert.equal((await stranger.delete('sys/audit/later')).status, 500, 'a caller without a valid token is refused (and that fails closed)');
    assert.equal((await root.delete('sys/audit/later')).status, 204);
    assert.equal((await root.get('sys/audit')).body.data['later/'], undefined);
    assert.equal((await root.get('sys/mounts')).status, 200);
  } finally {
    rmdirSync(file);
  }
});
