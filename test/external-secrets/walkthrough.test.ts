/**
 * examples/external-secrets/walkthrough.sh runs as documented against a `coffer server -dev` process (the
 * generator part against the machine's PostgreSQL), and says what the README says it shows.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, spawnServer, type ServerProcess } from '../helpers/process.js';
import { PgRoles } from './postgres.js';

let server: ServerProcess;
const roles = new PgRoles();

before(async () => {
  server = await spawnServer(['-dev', '-dev-root-token-id=walkthrough-root', '-dev-listen-address=127.0.0.1:0', '-dev-no-store-token', '-log-level=error']);
  await roles.connect();
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  await roles.close();
});

it('the walkthrough replays the ESO requests and ends cleanly', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'examples/external-secrets/walkthrough.sh')], {
      env: {
        ...process.env,
        COFFER_ADDR: server.addr,
        COFFER_TOKEN: 'walkthrough-root',
        COFFER_EXAMPLE_PG: 'postgresql://{{username}}@127.0.0.1:5432/postgres?sslmode=disable',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (c) => resolve({ code: c ?? -1, stdout: out, stderr: err }));
  });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /\{"key":"team-a\/app","version":1,"data":"1\.5"\} \[200\]/);
  assert.match(stdout, /"data":\{"ratio":"1\.5","debug":"true","database":"\{\\"host\\":\\"db\.internal\\",\\"port\\":5432\}"\}\} \[200\]/);
  assert.match(stdout, /HTTP\/1\.1 403 permission denied \(namespace team-b\)/);
  assert.match(stdout, /secret team-a\/nothing-here not found"\]\} \[404\]/);
  assert.match(stdout, /== deletion[^\n]*\n204\n404\n/);
  const users = [...stdout.matchAll(/"username":"([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(users.length, 2);
  users.forEach((u) => roles.track(u));
  assert.match(stdout, /the first lease after the grace period:\ninvalid lease/);
  for (const u of users) assert.ok(await roles.dropped(u), `${u} revoked`);
});
