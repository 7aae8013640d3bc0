/**
 * Owner tracking across a restart: the owner → lease record lives behind the barrier, and the grace period of a
 * superseded lease is stored as its due time, so neither is lost (nor cut short) when coffer restarts. A real
 * server on a SQLite file, initialised and unsealed through the API, stopped and started again on the same file;
 * database credentials from the machine's PostgreSQL.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { devConfig } from '../../src/server/server.js';
import { client } from '../helpers/server.js';
import { PgRoles, setupDatabaseRole } from './postgres.js';

const ROLE = 'restart-app';
let dir: string;
let server: RunningServer | null = null;
let unsealKey = '';
let rootToken = '';
const roles = new PgRoles();

async function start(): Promise<string> {
  const config = { ...devConfig({ listenAddress: '127.0.0.1:0', storagePath: path.join(dir, 'coffer.db') }), logLevel: 'silent' };
  server = await startServer(config);
  const addr = server.addresses[0]!;
  const c = client(addr, null);
  if (!unsealKey) {
    const init = await c.put('sys/init', { secret_shares: 1, secret_threshold: 1 });
    unsealKey = init.body.keys_base64[0];
    rootToken = init.body.root_token;
  }
  assert.equal((await c.put('sys/unseal', { key: unsealKey })).body.sealed, false);
  return addr;
}

async function generate(addr: string, token: string, grace: string): Promise<{ data: Record<string, string>; lease_id: string; revokes: string | null }> {
  const res = await request(`${addr}/eso/v1/generate/database/creds/${ROLE}`, {
    method: 'POST',
    headers: { 'x-vault-token': token, 'x-coffer-owner': 'team-a/restart', 'x-coffer-revoke-grace': grace },
  });
  const body = (await res.body.json()) as { data: Record<string, string>; lease_id: string; revokes: string | null };
  assert.equal(res.statusCode, 200, JSON.stringify(body));
  roles.track(body.data.username);
  return body;
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'coffer-eso-restart-'));
  await roles.connect();
});

after(async () => {
  await server?.close();
  await roles.close();
  rmSync(dir, { recursive: true, force: true });
});

it('owner records and grace periods survive a restart', async () => {
  let addr = await start();
  let root = client(addr, rootToken);
  await setupDatabaseRole(root, ROLE);
  assert.equal((await root.put('sys/policies/acl/gen', { policy: `path "database/creds/${ROLE}" { capabilities = ["read"] }` })).status, 204);
  const token = (await root.post('auth/token/create', { policies: ['gen'], ttl: '2h' })).body.auth.client_token;

  const first = await generate(addr, token, '0s');
  assert.equal(first.revokes, null);
  const second = await generate(addr, token, '1h');
  assert.equal(second.revokes, first.lease_id);

  await server!.close();
  addr = await start();
  root = client(addr, rootToken);
  await server!.core.leases.restored;

  // The superseded lease is still due in about an hour, not overdue (which would have revoked it at restore).
  const lookup = await root.put('sys/leases/lookup', { lease_id: first.lease_id });
  assert.equal(lookup.status, 200, lookup.text);
  assert.ok(lookup.body.data.ttl > 3000, `ttl ${lookup.body.data.ttl}`);
  assert.ok(await roles.exists(first.data.username!), 'the superseded user lives on through its grace period');

  // The record survived: the next refresh supersedes the lease issued before the restart.
  const third = await generate(addr, token, '0s');
  assert.equal(third.revokes, second.lease_id);
  assert.ok(await roles.dropped(second.data.username!), 'the pre-restart lease is revoked');
  assert.ok(await roles.canLogin(third.data));

  for (const lease of [first.lease_id, third.lease_id]) await root.put('sys/leases/revoke', { lease_id: lease });
  assert.ok(await roles.dropped(first.data.username!));
});
