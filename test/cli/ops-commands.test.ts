/**
 * The operator-facing commands run as real `coffer` processes, output and exit codes checked exactly as the
 * vault CLI has them:
 *  - against `coffer server -config` child processes: status (exit 0 / 2 / 1; Cluster Name and Cluster ID
 *    once unsealed), operator init (table with the advice text, -format=json, -status), unseal (argument, stdin
 *    line, hidden prompt on a terminal, -reset), seal, rotate, key-status;
 *  - against a dev server: login (token helper file with mode 0600, later commands using it, -no-store,
 *    -token-only, stdin, other methods), token create/lookup/renew/revoke (-mode=path through
 *    sys/leases/revoke-prefix)/capabilities, lease lookup/renew/revoke on real leases issued by a test engine
 *    registered in this process (the dev server runs here), a missing server.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerLeaseEngine } from '../helpers/lease-engine.js';
import { COFFER_BIN, runCoffer, spawnServer, type ServerProcess } from '../helpers/process.js';
import { onTerminal } from '../helpers/terminal.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'coffer-ops-cli-'));

/** Vault's cluster_id: a random UUID. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The engine issuing the leases for the lease commands (the dev server runs in this process, so registering it
 * here makes it mountable); its revoke and renew calls are recorded, and its revoke can be made to fail (for
 * -prefix vs -force -prefix).
 */
const leases = registerLeaseEngine('leasetest-ops');

/** Environment of every CLI run: no address or token inherited from the test's own environment. */
function baseEnv(addr: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { COFFER_ADDR: addr, VAULT_ADDR: '', COFFER_TOKEN: '', VAULT_TOKEN: '', HOME: home, ...extra };
}

/** The vault CLI's Key/Value table (columns four spaces apart). */
function kvTable(rows: [string, string][]): string {
  const all: [string, string][] = [['Key', 'Value'], ['---', '-----'], ...rows];
  const width = Math.max(...all.map(([k]) => k.length));
  return all.map(([k, v]) => `${k.padEnd(width)}    ${v}`).join('\n') + '\n';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function rfc822(iso: string): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function configFile(name: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  const file = path.join(dir, 'coffer.hcl');
  writeFileSync(
    file,
    `storage "sqlite" {\n  path = "${path.join(dir, 'coffer.db')}"\n}\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n`,
  );
  return file;
}

const servers: ServerProcess[] = [];
let devServer: TestServer | undefined;

after(async () => {
  for (const s of servers) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
  await devServer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

// The three groups are independent (own servers, own HOME) and run side by side; tests within a group run in order.
describe('coffer ops commands', { concurrency: true }, () => {
  describe('status and operator commands against a server started from a config file', { concurrency: 1 }, () => {
    let addr = '';
    let home = '';
    let keys: string[] = [];
    let rootToken = '';
    let buildDate = '';
    const run = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
      runCoffer(args, { input: opts.input, env: baseEnv(addr, home, opts.env) });
    const anon = () => client(addr, null);

    /** The sealed table, with the nonce the server reports now. */
    async function sealedTable(shares: number, threshold: number, progress: number, initialized = true): Promise<string> {
      const nonce = (await anon().get('sys/seal-status')).body.nonce || 'n/a';
      return kvTable([
        ['Seal Type', 'shamir'],
        ['Initialized', String(initialized)],
        ['Sealed', 'true'],
        ['Total Shares', String(shares)],
        ['Threshold', String(threshold)],
        ['Unseal Progress', `${progress}/${threshold}`],
        ['Unseal Nonce', nonce],
        ['Version', '0.1.0'],
        ['Build Date', buildDate],
        ['Storage Type', 'sqlite'],
        ['HA Enabled', 'false'],
      ]);
    }

    /**
     * The unsealed table: as vault prints it, Cluster Name and Cluster ID come after Storage Type once the
     * server reports them (only when unsealed). The id is the one sys/seal-status reports now, a UUID.
     */
    async function unsealedTable(): Promise<string> {
      const status = (await anon().get('sys/seal-status')).body;
      assert.equal(status.cluster_name, 'coffer-cluster');
      assert.match(status.cluster_id, UUID);
      return kvTable([
        ['Seal Type', 'shamir'],
        ['Initialized', 'true'],
        ['Sealed', 'false'],
        ['Total Shares', '5'],
        ['Threshold', '3'],
        ['Version', '0.1.0'],
        ['Build Date', buildDate],
        ['Storage Type', 'sqlite'],
        ['Cluster Name', 'coffer-cluster'],
        ['Cluster ID', status.cluster_id],
        ['HA Enabled', 'false'],
      ]);
    }

    /** While sealed (or not initialized) neither sys/seal-status nor sys/health names the cluster, as in vault. */
    async function assertNoClusterFields(): Promise<void> {
      const status = (await anon().get('sys/seal-status')).body;
      const health = (await anon().get('sys/health')).body;
      for (const body of [status, health]) {
        assert.equal(body.sealed, true);
        assert.ok(!('cluster_name' in body) && !('cluster_id' in body), JSON.stringify(body));
      }
    }

    before(async () => {
      const proc = await spawnServer([`-config=${configFile('server-a')}`, '-log-level=error']);
      servers.push(proc);
      addr = proc.addr;
      home = path.join(tmp, 'home-operator');
      mkdirSync(home);
      buildDate = (await anon().get('sys/seal-status')).body.build_date;
    });

    test('status on an uninitialized server: the sealed table, exit 2', async () => {
      const res = await run(['status']);
      assert.equal(res.stderr, '');
      assert.equal(res.stdout, await sealedTable(0, 0, 0, false));
      assert.equal(res.code, 2, res.stderr);
      await assertNoClusterFields();
    });

    test('operator init -status: exit 2 before init', async () => {
      const res = await run(['operator', 'init', '-status']);
      assert.deepEqual(res, { code: 2, stdout: 'Coffer is not initialized\n', stderr: '' });
    });

    test('operator init with the default 5/3: keys, root token and the advice text', async () => {
      const res = await run(['operator', 'init']);
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      const m = /^((?:Unseal Key \d: \S+\n){5})\nInitial Root Token: (cfs\.\S+)\n\n/.exec(res.stdout);
      assert.ok(m, res.stdout);
      keys = m[1].trim().split('\n').map((line, i) => {
        assert.ok(line.startsWith(`Unseal Key ${i + 1}: `), line);
        return line.slice(`Unseal Key ${i + 1}: `.length);
      });
      rootToken = m[2];
      for (const k of keys) assert.match(k, /^[A-Za-z0-9+/]+=*$/);
      assert.equal(new Set(keys).size, 5);
      assert.equal(
        res.stdout.slice(m[0].length),
        'Coffer initialized with 5 key shares and a key threshold of 3. Please securely\n' +
          'distribute the key shares printed above. When coffer is re-sealed, restarted,\n' +
          'or stopped, you must supply at least 3 of these keys to unseal it before it\n' +
          'can start servicing requests.\n' +
          '\n' +
          'Coffer does not store the generated root key. Without at least 3 keys to\n' +
          'reconstruct the root key, coffer will remain permanently sealed!\n',
      );
      // The root token works once unsealed (checked below); the server agrees on the configuration now.
      const status = (await anon().get('sys/seal-status')).body;
      assert.deepEqual([status.initialized, status.sealed, status.n, status.t], [true, true, 5, 3]);
    });

    test('operator init on an initialized server: exit 2 with the server error; init -status exit 0', async () => {
      const again = await run(['operator', 'init']);
      assert.equal(again.code, 2, again.stderr);
      assert.equal(again.stdout, '');
      assert.match(again.stderr, new RegExp(`^Error initializing: Error making API request\\.\\n\\nURL: PUT ${addr}/v1/sys/init\\nCode: 400\\. Errors:\\n\\n\\* .+\\n$`));
      assert.deepEqual(await run(['operator', 'init', '-status']), { code: 0, stdout: 'Coffer is initialized\n', stderr: '' });
      assert.deepEqual(await run(['operator', 'init', '-status', '-format=json']), { code: 0, stdout: '{\n  "initialized": true\n}\n', stderr: '' });
    });

    test('status after init: still sealed (exit 2) with the progress 0/3, no cluster rows', async () => {
      const res = await run(['status']);
      assert.deepEqual(res, { code: 2, stdout: await sealedTable(5, 3, 0), stderr: '' });
      await assertNoClusterFields();
    });

    test('operator unseal KEY (argument) and -reset print the seal status', async () => {
      const first = await run(['operator', 'unseal', keys[0]]);
      assert.equal(first.stderr, '');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, await sealedTable(5, 3, 1));
      assert.match(first.stdout, /Unseal Nonce       [0-9a-f-]{36}\n/);
      const reset = await run(['operator', 'unseal', '-reset']);
      assert.deepEqual(reset, { code: 0, stdout: await sealedTable(5, 3, 0), stderr: '' });
    });

    test('operator unseal reads one line from stdin when it is not a terminal; -format=json', async () => {
      // The writer keeps the pipe open: coffer must take the first line and finish anyway.
      const child = spawn(process.execPath, [COFFER_BIN, 'operator', 'unseal'], { env: { ...process.env, ...baseEnv(addr, home) } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.stdin.on('error', () => {});
      child.stdin.write(`${keys[1]}\nignored second line\n`);
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000); // still waiting for the pipe to close: fail
        child.on('close', (c) => { // 'close': stdout/stderr fully read
          clearTimeout(timer);
          resolve(c);
        });
      });
      child.stdin.destroy();
      assert.deepEqual({ code, stdout, stderr }, { code: 0, stdout: await sealedTable(5, 3, 1), stderr: '' });
      const third = await run(['operator', 'unseal', '-format=json'], { input: keys[2] });
      assert.equal(third.code, 0, third.stderr);
      assert.equal(third.stderr, '');
      const json = JSON.parse(third.stdout);
      const api = (await anon().get('sys/seal-status')).body;
      const leader = (await anon().get('sys/leader')).body;
      assert.deepEqual(json, { ...api, ha_enabled: false, active_time: leader.active_time });
      assert.deepEqual([json.sealed, json.progress, json.t, json.n], [true, 2, 3, 5]);
    });

    test('operator unseal with no key at all (empty stdin) and bad arguments: exit 1, nothing sent', async () => {
      const empty = await run(['operator', 'unseal'], { input: '' });
      assert.deepEqual(empty, {
        code: 1,
        stdout: '',
        stderr: 'Error unsealing: no unseal key was given (as an argument, at the prompt, or as a line on stdin)\n',
      });
      const two = await run(['operator', 'unseal', 'a', 'b']);
      assert.equal(two.code, 1, two.stderr);
      assert.equal(two.stdout, '');
      assert.ok(two.stderr.startsWith('Too many arguments (expected 0-1, got 2)\n\nUsage: coffer operator'), two.stderr);
      const junk = await run(['operator', 'unseal', 'not a key!']);
      assert.equal(junk.code, 2, junk.stderr);
      assert.match(junk.stderr, /^Error unsealing: Error making API request\.\n\nURL: PUT .*\/v1\/sys\/unseal\nCode: 400\. Errors:\n\n\* 'key' must be a valid hex or base64 string\n$/);
      assert.equal((await anon().get('sys/seal-status')).body.progress, 2);
    });

    test('the third share unseals: unseal table, then status exit 0 (table and json) with Cluster Name and ID', async () => {
      const res = await run(['operator', 'unseal', keys[4]]);
      assert.deepEqual(res, { code: 0, stdout: await unsealedTable(), stderr: '' });
      const status = await run(['status']);
      assert.deepEqual(status, { code: 0, stdout: await unsealedTable(), stderr: '' });
      const api = (await anon().get('sys/seal-status')).body;
      assert.match(status.stdout, new RegExp(`\\nStorage Type    sqlite\\nCluster Name    coffer-cluster\\nCluster ID      ${api.cluster_id}\\nHA Enabled      false\\n$`));
      // sys/health names the same cluster.
      const health = await anon().get('sys/health');
      assert.equal(health.status, 200);
      assert.deepEqual([health.body.cluster_name, health.body.cluster_id], ['coffer-cluster', api.cluster_id]);
      const json = await run(['status', '-format=json']);
      assert.equal(json.code, 0, json.stderr);
      const leader = (await anon().get('sys/leader')).body;
      const parsed = JSON.parse(json.stdout);
      assert.deepEqual(parsed, { ...api, ha_enabled: false, active_time: leader.active_time });
      assert.deepEqual([parsed.cluster_name, parsed.cluster_id], ['coffer-cluster', api.cluster_id]);
    });

    test('operator key-status, rotate (a new term), key-status -format=json', async () => {
      const env = { COFFER_TOKEN: rootToken };
      const ks1 = (await client(addr, rootToken).get('sys/key-status')).body.data;
      assert.deepEqual(await run(['operator', 'key-status'], { env }), {
        code: 0,
        stdout: `Key Term        1\nInstall Time    ${rfc822(ks1.install_time)}\n`,
        stderr: '',
      });
      const rotated = await run(['operator', 'rotate'], { env });
      const ks2 = (await client(addr, rootToken).get('sys/key-status')).body.data;
      assert.equal(ks2.term, 2);
      assert.deepEqual(rotated, {
        code: 0,
        stdout: `Success! Rotated key\n\nKey Term        2\nInstall Time    ${rfc822(ks2.install_time)}\n`,
        stderr: '',
      });
      const json = await run(['operator', 'key-status', '-format=json'], { env });
      assert.deepEqual(json, { code: 0, stdout: JSON.stringify({ term: 2, install_time: ks2.install_time }, null, 2) + '\n', stderr: '' });
    });

    test('operator seal needs a token with sudo; with the root token: sealed, status exit 2', async () => {
      const denied = await run(['operator', 'seal']);
      assert.equal(denied.code, 2, denied.stderr);
      assert.equal(denied.stdout, '');
      assert.equal(denied.stderr, `Error sealing: Error making API request.\n\nURL: PUT ${addr}/v1/sys/seal\nCode: 403. Errors:\n\n* permission denied\n`);
      assert.deepEqual(await run(['operator', 'seal'], { env: { VAULT_TOKEN: rootToken } }), { code: 0, stdout: 'Success! Coffer is sealed.\n', stderr: '' });
      assert.deepEqual(await run(['status']), { code: 2, stdout: await sealedTable(5, 3, 0), stderr: '' });
      await assertNoClusterFields();
    });

    test('operator unseal with no KEY on a terminal prompts without echoing the key', async () => {
      // script(1) (util-linux, essential on Debian) gives the CLI a real terminal.
      const key = keys[3];
      const { code, output } = await onTerminal(['operator', 'unseal'], baseEnv(addr, home), 'Unseal Key (will be hidden): ', key);
      assert.equal(code, 0, output);
      assert.ok(output.startsWith('Unseal Key (will be hidden): \r\n'), JSON.stringify(output));
      assert.ok(!output.includes(key.slice(0, 12)), 'the key was echoed');
      assert.equal(output.slice('Unseal Key (will be hidden): \r\n'.length).replace(/\r\n/g, '\n'), await sealedTable(5, 3, 1));
    });

    test('status against a missing server: one line naming the address, exit 1 (vault: 1 = error)', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const res = await runCoffer(['status'], { env: baseEnv(dead, home) });
      assert.deepEqual(res, { code: 1, stdout: '', stderr: `Error checking seal status: cannot reach the server at ${dead} (ECONNREFUSED)\n` });
    });
  });

  describe('operator init -format=json', { concurrency: 1 }, () => {
    test('prints the keys in base64 and hex, the shares, the threshold and the root token; the hex keys unseal', async () => {
      const proc = await spawnServer([`-config=${configFile('server-b')}`, '-log-level=error']);
      servers.push(proc);
      const home = path.join(tmp, 'home-json');
      mkdirSync(home);
      const res = await runCoffer(['operator', 'init', '-key-shares=3', '-key-threshold=2', '-format=json'], { env: baseEnv(proc.addr, home) });
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      const out = JSON.parse(res.stdout);
      assert.deepEqual(Object.keys(out), [
        'unseal_keys_b64',
        'unseal_keys_hex',
        'unseal_shares',
        'unseal_threshold',
        'recovery_keys_b64',
        'recovery_keys_hex',
        'recovery_keys_shares',
        'recovery_keys_threshold',
        'root_token',
      ]);
      assert.equal(out.unseal_keys_b64.length, 3);
      assert.deepEqual(
        out.unseal_keys_b64.map((k: string) => Buffer.from(k, 'base64').toString('hex')),
        out.unseal_keys_hex,
      );
      assert.deepEqual([out.unseal_shares, out.unseal_threshold, out.recovery_keys_shares, out.recovery_keys_threshold], [3, 2, 0, 0]);
      assert.deepEqual([out.recovery_keys_b64, out.recovery_keys_hex], [[], []]);
      assert.match(out.root_token, /^cfs\./);
      assert.equal(res.stdout, JSON.stringify(out, null, 2) + '\n');

      const one = await runCoffer(['operator', 'unseal', out.unseal_keys_hex[2]], { env: baseEnv(proc.addr, home) });
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /\nUnseal Progress    1\/2\n/);
      const two = await runCoffer(['operator', 'unseal', '-format=json', out.unseal_keys_hex[0]], { env: baseEnv(proc.addr, home) });
      assert.equal(two.code, 0, two.stderr);
      assert.equal(JSON.parse(two.stdout).sealed, false);
      const lookup = await runCoffer(['token', 'lookup', '-field=id'], { env: baseEnv(proc.addr, home, { VAULT_TOKEN: out.root_token }) });
      assert.deepEqual(lookup, { code: 0, stdout: out.root_token, stderr: '' });
    });
  });

  describe('login, token and lease commands against a dev server', { concurrency: 1 }, () => {
    let srv: TestServer;
    let home = '';
    const run = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
      runCoffer(args, { input: opts.input, env: baseEnv(srv.addr, home, opts.env) });
    const rootApi = () => client(srv.addr, srv.token);
    const helperFile = () => path.join(home, '.coffer-token');
    const SUCCESS =
      'Success! You are now authenticated. The token information displayed below\n' +
      'is already stored in the token helper. You do NOT need to run "coffer login"\n' +
      'again. Future coffer requests will automatically use this token.\n\n';

    async function newToken(body: Record<string, unknown>, token = srv.token): Promise<{ token: string; accessor: string }> {
      const res = await client(srv.addr, token).post('auth/token/create', body);
      assert.equal(res.status, 200, res.text);
      return { token: res.body.auth.client_token, accessor: res.body.auth.accessor };
    }

    const lookupApi = async (token: string) => (await rootApi().post('auth/token/lookup', { token })).body.data;
    const tokenStatus = async (token: string) => (await rootApi().post('auth/token/lookup', { token })).status;

    /** Credentials from the lease engine mounted at dyn/, read with the root token: the lease id and the user. */
    async function issue(role: string, ttl = 3600): Promise<{ leaseId: string; user: string }> {
      const res = await rootApi().get(`dyn/creds/${role}?ttl=${ttl}`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.body.lease_id, new RegExp(`^dyn/creds/${role}/[A-Za-z0-9]+$`));
      assert.deepEqual([res.body.lease_duration, res.body.renewable], [ttl, true]);
      assert.ok(leases.issued.has(res.body.data.username));
      return { leaseId: res.body.lease_id, user: res.body.data.username };
    }
    const leaseLookupApi = (leaseId: string) => rootApi().put('sys/leases/lookup', { lease_id: leaseId });
    /** The CLI's report of an API error; the vault CLI sends every sys/leases call as a PUT. */
    const apiError = (what: string, p: string, code: number, message: string) =>
      `${what}: Error making API request.\n\nURL: PUT ${srv.addr}/v1/${p}\nCode: ${code}. Errors:\n\n* ${message}\n`;
    const QUEUED = 'All revocation operations queued successfully!\n';

    before(async () => {
      srv = await startDevServer();
      devServer = srv;
      home = path.join(tmp, 'home-dev');
      mkdirSync(home);
      const mount = await rootApi().post('sys/mounts/dyn', { type: leases.type });
      assert.equal(mount.status, 204, mount.text);
    });

    test('login TOKEN: success text and token table; the token helper file has mode 0600', async () => {
      const res = await run(['login', srv.token]);
      const self = (await rootApi().get('auth/token/lookup-self')).body.data;
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        SUCCESS +
          kvTable([
            ['token', srv.token],
            ['token_accessor', self.accessor],
            ['token_duration', '∞'],
            ['token_renewable', 'false'],
            ['token_policies', '["root"]'],
            ['identity_policies', '[]'],
            ['policies', '["root"]'],
          ]),
      );
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
      assert.equal(statSync(helperFile()).mode & 0o777, 0o600);
    });

    test('later commands without COFFER_TOKEN/VAULT_TOKEN use the stored token (token lookup table)', async () => {
      const res = await run(['token', 'lookup']);
      const d = (await rootApi().get('auth/token/lookup-self')).body.data;
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        kvTable([
          ['accessor', d.accessor],
          ['creation_time', String(d.creation_time)],
          ['creation_ttl', '0s'],
          ['display_name', 'root'],
          ['entity_id', 'n/a'],
          ['expire_time', '<nil>'],
          ['explicit_max_ttl', '0s'],
          ['id', srv.token],
          ['issue_time', d.issue_time],
          ['meta', '<nil>'],
          ['num_uses', '0'],
          ['orphan', 'true'],
          ['path', 'auth/token/root'],
          ['policies', '[root]'],
          ['renewable', 'false'],
          ['ttl', '0s'],
          ['type', 'service'],
        ]),
      );
    });

    test('login -no-store shows the token but leaves the token helper alone, with a warning', async () => {
      const other = await newToken({ policies: ['default'], ttl: '1h', meta: { team: 'payments' } });
      const res = await run(['login', '-no-store', other.token]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stderr,
        'The token was not stored in token helper. Set the COFFER_TOKEN environment\nvariable or pass the token below with each request to coffer.\n\n',
      );
      const duration = /^token_duration\s+(\S+)$/m.exec(res.stdout)?.[1] ?? '';
      assert.match(duration, /^(1h|59m5\ds)$/);
      assert.equal(
        res.stdout,
        SUCCESS +
          kvTable([
            ['token', other.token],
            ['token_accessor', other.accessor],
            ['token_duration', duration],
            ['token_renewable', 'true'],
            ['token_policies', '["default"]'],
            ['identity_policies', '[]'],
            ['policies', '["default"]'],
            ['token_meta_team', 'payments'],
          ]),
      );
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
    });

    test('login - reads the token from stdin; login with no TOKEN reads a line when stdin is not a terminal', async () => {
      const a = await newToken({ policies: ['default'] });
      const viaDash = await run(['login', '-'], { input: `  ${a.token}  \n` });
      assert.equal(viaDash.code, 0, viaDash.stderr);
      assert.ok(viaDash.stdout.startsWith(SUCCESS));
      assert.equal(readFileSync(helperFile(), 'utf8'), a.token);
      assert.deepEqual(await run(['token', 'lookup', '-field=id']), { code: 0, stdout: a.token, stderr: '' });

      const viaLine = await run(['login'], { input: `${srv.token}\n` });
      assert.equal(viaLine.code, 0, viaLine.stderr);
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
      assert.equal(statSync(helperFile()).mode & 0o777, 0o600);

      const nothing = await run(['login'], { input: '' });
      assert.deepEqual(nothing, {
        code: 2,
        stdout: '',
        stderr: 'Error authenticating: a token must be passed to auth, please view the help for more information\n',
      });
    });

    test('login with a bad token: exit 2 with the server error, the token helper is unchanged', async () => {
      const res = await run(['login', 'cfs.not-a-real-token']);
      assert.deepEqual(res, {
        code: 2,
        stdout: '',
        stderr: `Error authenticating: error looking up token: Error making API request.\n\nURL: GET ${srv.addr}/v1/auth/token/lookup-self\nCode: 403. Errors:\n\n* permission denied\n`,
      });
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
    });

    test('login -token-only prints the raw token and stores nothing; -no-store with -no-print is a usage error', async () => {
      const other = await newToken({ policies: ['default'] });
      assert.deepEqual(await run(['login', '-token-only', other.token]), { code: 0, stdout: other.token, stderr: '' });
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
      const both = await run(['login', '-no-store', '-no-print', other.token]);
      assert.equal(both.code, 1, both.stderr);
      assert.ok(both.stderr.startsWith('-no-store and -no-print cannot be used together\n\nUsage: coffer login'), both.stderr);
    });

    test('login warns when COFFER_TOKEN is set (it takes precedence over the stored token)', async () => {
      const res = await run(['login', srv.token], { env: { COFFER_TOKEN: srv.token } });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stderr,
        'WARNING! The COFFER_TOKEN environment variable is set! The value of this\nvariable will take precedence; if this is unwanted please unset COFFER_TOKEN\nor update its value accordingly.\n\n',
      );
    });

    test('login -method=NAME posts k=v to auth/PATH/login (userpass: the username goes into the path)', async () => {
      const userpass = await run(['login', '-method=userpass', 'username=bob', 'password=s3cret']);
      assert.equal(userpass.code, 2, userpass.stderr);
      assert.equal(userpass.stdout, '');
      assert.match(userpass.stderr, new RegExp(`^Error authenticating: Error making API request\\.\\n\\nURL: POST ${srv.addr}/v1/auth/userpass/login/bob\\nCode: 404\\.`));
      const approle = await run(['login', '-method=approle', '-path=approle-ci', 'role_id=r', 'secret_id=s']);
      assert.equal(approle.code, 2, approle.stderr);
      assert.match(approle.stderr, new RegExp(`\\nURL: POST ${srv.addr}/v1/auth/approle-ci/login\\nCode: 404\\.`));
      assert.equal(readFileSync(helperFile(), 'utf8'), srv.token);
    });

    test('token create: the token table with policies, TTL and metadata', async () => {
      const res = await run(['token', 'create', '-policy=default', '-policy=dev,ops', '-ttl=1h', '-metadata=env=prod', '-metadata=team=pay']);
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      const token = /^token\s+(\S+)$/m.exec(res.stdout)?.[1] ?? '';
      const duration = /^token_duration\s+(\S+)$/m.exec(res.stdout)?.[1] ?? '';
      assert.match(duration, /^(1h|59m5\ds)$/);
      const d = await lookupApi(token);
      assert.equal(
        res.stdout,
        kvTable([
          ['token', token],
          ['token_accessor', d.accessor],
          ['token_duration', duration],
          ['token_renewable', 'true'],
          ['token_policies', '["default" "dev" "ops"]'],
          ['identity_policies', '[]'],
          ['policies', '["default" "dev" "ops"]'],
          ['token_meta_env', 'prod'],
          ['token_meta_team', 'pay'],
        ]),
      );
      assert.deepEqual(d.meta, { env: 'prod', team: 'pay' });
      assert.equal(d.creation_ttl, 3600);
    });

    test('token create -field=token prints only the raw token; -format=json prints the envelope', async () => {
      const res = await run(['token', 'create', '-policy=default', '-ttl=2h', '-field=token']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      assert.match(res.stdout, /^cfs\.[A-Za-z0-9_-]+$/);
      const d = await lookupApi(res.stdout);
      assert.deepEqual([d.policies, d.creation_ttl, d.path], [['default'], 7200, 'auth/token/create']);

      const json = await run(['token', 'create', '-policy=default', '-format=json']);
      assert.equal(json.code, 0, json.stderr);
      const env = JSON.parse(json.stdout);
      assert.match(env.auth.client_token, /^cfs\./);
      assert.deepEqual(env.auth.policies, ['default']);
      assert.equal(env.data, null);
    });

    test('token create -orphan -use-limit -period -explicit-max-ttl -no-default-policy -display-name -renewable', async () => {
      const res = await run([
        'token', 'create', '-orphan', '-use-limit=5', '-period=20m', '-explicit-max-ttl=3h', '-no-default-policy', '-policy=dev',
        '-display-name=ci-bot', '-field=token',
      ]);
      assert.equal(res.code, 0, res.stderr);
      const d = await lookupApi(res.stdout);
      assert.deepEqual(
        { orphan: d.orphan, num_uses: d.num_uses, period: d.period, explicit_max_ttl: d.explicit_max_ttl, policies: d.policies, display_name: d.display_name, path: d.path },
        { orphan: true, num_uses: 5, period: 1200, explicit_max_ttl: 10800, policies: ['dev'], display_name: 'token-ci-bot', path: 'auth/token/create-orphan' },
      );
      const fixed = await run(['token', 'create', '-renewable=false', '-ttl=90', '-field=token']);
      const f = await lookupApi(fixed.stdout);
      assert.deepEqual([f.renewable, f.creation_ttl], [false, 90]);
    });

    test('token create -role uses auth/token/create/ROLE', async () => {
      const role = await rootApi().post('auth/token/roles/deployer', { allowed_policies: 'dev', orphan: true });
      assert.equal(role.status, 204, role.text);
      const res = await run(['token', 'create', '-role=deployer', '-policy=dev', '-field=token']);
      assert.equal(res.code, 0, res.stderr);
      const d = await lookupApi(res.stdout);
      assert.deepEqual([d.path, d.role, d.orphan], ['auth/token/create/deployer', 'deployer', true]);
    });

    test('token create usage errors: bad duration, bad metadata, extra arguments (exit 1 with help)', async () => {
      const ttl = await run(['token', 'create', '-ttl=soon']);
      assert.equal(ttl.code, 1, ttl.stderr);
      assert.ok(ttl.stderr.startsWith('invalid value "soon" for flag -ttl: time: invalid duration "soon"\n\nUsage: coffer token'), ttl.stderr);
      const meta = await run(['token', 'create', '-metadata=novalue']);
      assert.equal(meta.code, 1, meta.stderr);
      assert.ok(meta.stderr.startsWith('invalid value "novalue" for flag -metadata: must be key=value\n'), meta.stderr);
      const extra = await run(['token', 'create', 'oops']);
      assert.equal(extra.code, 1, extra.stderr);
      assert.ok(extra.stderr.startsWith('Too many arguments (expected 0, got 1)\n'), extra.stderr);
      const denied = await run(['token', 'create'], { env: { COFFER_TOKEN: 'cfs.nope' } });
      assert.equal(denied.code, 2, denied.stderr);
      assert.equal(denied.stderr, `Error creating token: Error making API request.\n\nURL: POST ${srv.addr}/v1/auth/token/create\nCode: 403. Errors:\n\n* permission denied\n`);
    });

    test('token lookup TOKEN, -accessor, -format=json; unknown token exits 2', async () => {
      const t = await newToken({ policies: ['default'], ttl: '1h' });
      const byToken = await run(['token', 'lookup', '-format=json', t.token]);
      assert.equal(byToken.code, 0, byToken.stderr);
      assert.equal(JSON.parse(byToken.stdout).data.id, t.token);
      const byAccessor = await run(['token', 'lookup', '-accessor', t.accessor]);
      assert.equal(byAccessor.code, 0, byAccessor.stderr);
      assert.match(byAccessor.stdout, new RegExp(`^accessor            ${t.accessor}$`, 'm'));
      assert.match(byAccessor.stdout, /^id                  n\/a$/m);
      assert.match(byAccessor.stdout, /^policies            \[default\]$/m);
      assert.match(byAccessor.stdout, /^creation_ttl        1h$/m);
      const missing = await run(['token', 'lookup', 'cfs.nope']);
      assert.deepEqual(missing, {
        code: 2,
        stdout: '',
        stderr: `Error looking up token: Error making API request.\n\nURL: POST ${srv.addr}/v1/auth/token/lookup\nCode: 400. Errors:\n\n* bad token\n`,
      });
      const noAccessor = await run(['token', 'lookup', '-accessor']);
      assert.equal(noAccessor.code, 1, noAccessor.stderr);
      assert.ok(noAccessor.stderr.startsWith('Not enough arguments (expected 1, got 0)\n'), noAccessor.stderr);
    });

    test('token renew TOKEN -increment, and renew-self with -i', async () => {
      const t = await newToken({ policies: ['default'], ttl: '10m' });
      const res = await run(['token', 'renew', '-increment=30m', t.token]);
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        kvTable([
          ['token', t.token],
          ['token_accessor', t.accessor],
          ['token_duration', '30m'],
          ['token_renewable', 'true'],
          ['token_policies', '["default"]'],
          ['identity_policies', '[]'],
          ['policies', '["default"]'],
        ]),
      );
      const self = await run(['token', 'renew', '-i=45m', '-field=token_duration'], { env: { COFFER_TOKEN: t.token } });
      assert.deepEqual(self, { code: 0, stdout: '2700', stderr: '' });
    });

    test('token capabilities: of another token, of the calling token, by accessor, as json', async () => {
      const policy = await rootApi().put('sys/policies/acl/app-reader', {
        policy: 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n',
      });
      assert.equal(policy.status, 204, policy.text);
      const t = await newToken({ policies: ['app-reader'] });
      assert.deepEqual(await run(['token', 'capabilities', t.token, 'secret/data/app/config']), { code: 0, stdout: 'list, read\n', stderr: '' });
      assert.deepEqual(await run(['token', 'capabilities', t.token, 'sys/mounts']), { code: 0, stdout: 'deny\n', stderr: '' });
      assert.deepEqual(await run(['token', 'capabilities', 'secret/data/app/config'], { env: { COFFER_TOKEN: t.token } }), {
        code: 0,
        stdout: 'list, read\n',
        stderr: '',
      });
      assert.deepEqual(await run(['token', 'capabilities', 'sys/mounts']), { code: 0, stdout: 'root\n', stderr: '' });
      assert.deepEqual(await run(['token', 'capabilities', '-accessor', t.accessor, 'secret/data/app/x']), { code: 0, stdout: 'list, read\n', stderr: '' });
      assert.deepEqual(await run(['token', 'capabilities', '-format=json', t.token, 'secret/data/app/x']), {
        code: 0,
        stdout: '[\n  "list",\n  "read"\n]\n',
        stderr: '',
      });
      const none = await run(['token', 'capabilities']);
      assert.equal(none.code, 1, none.stderr);
      assert.ok(none.stderr.startsWith('Not enough arguments (expected 1-2, got 0)\n'), none.stderr);
    });

    test('token revoke TOKEN, -accessor, -self, -mode=orphan', async () => {
      const ok = 'Success! Revoked token (if it existed)\n';
      const a = await newToken({ policies: ['default'] });
      assert.deepEqual(await run(['token', 'revoke', a.token]), { code: 0, stdout: ok, stderr: '' });
      assert.equal((await run(['token', 'lookup', a.token])).code, 2);

      const b = await newToken({ policies: ['default'] });
      assert.deepEqual(await run(['token', 'revoke', '-accessor', b.accessor]), { code: 0, stdout: ok, stderr: '' });
      assert.equal((await rootApi().post('auth/token/lookup', { token: b.token })).status, 400);

      const c = await newToken({ policies: ['default'] });
      assert.deepEqual(await run(['token', 'revoke', '-self'], { env: { COFFER_TOKEN: c.token } }), { code: 0, stdout: ok, stderr: '' });
      assert.equal((await rootApi().post('auth/token/lookup', { token: c.token })).status, 400);

      const maker = await rootApi().put('sys/policies/acl/child-maker', { policy: 'path "auth/token/create" {\n  capabilities = ["update"]\n}\n' });
      assert.equal(maker.status, 204, maker.text);
      const parent = await newToken({ policies: ['child-maker'] });
      const child = await newToken({ policies: ['default'] }, parent.token);
      assert.deepEqual(await run(['token', 'revoke', '-mode=orphan', parent.token]), { code: 0, stdout: ok, stderr: '' });
      assert.equal((await rootApi().post('auth/token/lookup', { token: parent.token })).status, 400);
      assert.equal((await rootApi().post('auth/token/lookup', { token: child.token })).status, 200, 'the child outlives its parent');
    });

    test('token revoke -mode=path: sys/leases/revoke-prefix revokes the tokens created on that path, as vault does', async () => {
      const ok = 'Success! Revoked token (if it existed)\n';
      const maker = await newToken({ policies: ['child-maker'] });
      const made = [await newToken({ policies: ['default'] }), await newToken({ policies: ['default'] }, maker.token)];
      const roleToken = (await rootApi().post('auth/token/create/deployer', { policies: ['dev'] })).body.auth.client_token as string;
      const orphan = (await rootApi().post('auth/token/create-orphan', { policies: ['default'] })).body.auth.client_token as string;
      assert.equal(await tokenStatus(roleToken), 200);

      // revoke-prefix needs sudo: a default token is refused (exit 2, the server's 403, nothing revoked).
      const denied = await run(['token', 'revoke', '-mode=path', 'auth/token/create'], { env: { COFFER_TOKEN: orphan } });
      assert.deepEqual(denied, {
        code: 2,
        stdout: '',
        stderr: apiError('Error revoking token', 'sys/leases/revoke-prefix/auth/token/create', 403, 'permission denied'),
      });
      assert.equal(await tokenStatus(made[0].token), 200);

      assert.deepEqual(await run(['token', 'revoke', '-mode=path', 'auth/token/create']), { code: 0, stdout: ok, stderr: '' });
      // Gone: those made at auth/token/create (whoever the parent), at auth/token/create/ROLE, and their children.
      for (const t of [maker.token, made[0].token, made[1].token, roleToken]) assert.equal(await tokenStatus(t), 400, t);
      const gone = await run(['token', 'lookup', made[0].token]);
      assert.deepEqual(gone, {
        code: 2,
        stdout: '',
        stderr: `Error looking up token: Error making API request.\n\nURL: POST ${srv.addr}/v1/auth/token/lookup\nCode: 400. Errors:\n\n* bad token\n`,
      });
      // auth/token/create-orphan is another path, and the root token (auth/token/root) is untouched.
      assert.equal(await tokenStatus(orphan), 200, 'create-orphan is another prefix');
      assert.deepEqual(await run(['token', 'lookup', '-field=path']), { code: 0, stdout: 'auth/token/root', stderr: '' });
      // A path with no tokens: still a success, as in vault.
      assert.deepEqual(await run(['token', 'revoke', '-mode=path', 'auth/token/create']), { code: 0, stdout: ok, stderr: '' });
      assert.equal(await tokenStatus(orphan), 200);
    });

    test('token revoke usage errors and unknown subcommands: exit 1 with the help', async () => {
      const cases: [string[], string][] = [
        [['token', 'revoke'], 'Not enough arguments (expected 1 or -self, got 0)'],
        [['token', 'revoke', '-self', 'x'], 'Too many arguments with -self (expected 0, got 1)'],
        [['token', 'revoke', '-mode=bogus', 'x'], 'Invalid mode: bogus'],
        [['token', 'revoke', '-accessor', '-mode=orphan', 'x'], 'Cannot use -accessor with -mode=orphan!'],
        [['token'], 'Missing subcommand: expected one of create, lookup, renew, revoke, capabilities'],
        [['token', 'frobnicate'], 'Unknown subcommand "token frobnicate"'],
        [['operator', 'frobnicate'], 'Unknown subcommand "operator frobnicate"'],
        [['token', 'create', '-bogus'], 'flag provided but not defined: -bogus'],
      ];
      const results = await Promise.all(cases.map(([args]) => run(args)));
      results.forEach((res, i) => {
        const [args, message] = cases[i];
        assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
        assert.equal(res.stdout, '');
        assert.ok(res.stderr.startsWith(`${message}\n\nUsage: coffer ${args[0]} `), `${args.join(' ')}: ${res.stderr.slice(0, 200)}`);
      });
      const help = await run(['token', 'create', '-help']);
      assert.equal(help.code, 0, help.stderr);
      assert.ok(help.stdout.startsWith('Usage: coffer token <subcommand>'));
    });

    test('lease lookup ID: the data table as vault prints it (keys sorted, <nil>, ttl as a duration); json; -field', async () => {
      const { leaseId } = await issue('ro');
      const res = await run(['lease', 'lookup', leaseId]);
      assert.equal(res.stderr, '');
      assert.equal(res.code, 0, res.stderr);
      const d = (await leaseLookupApi(leaseId)).body.data;
      assert.equal(Date.parse(d.expire_time) - Date.parse(d.issue_time), 3600_000);
      const ttl = /^ttl\s+(\S+)$/m.exec(res.stdout)?.[1] ?? '';
      assert.match(ttl, /^(1h|59m5\ds)$/);
      // Every key of the response's data, as vault's table does: vault's six plus coffer's irrevocable and
      // revoke_attempts (revoke_error only once a revocation failed).
      assert.equal(
        res.stdout,
        kvTable([
          ['expire_time', d.expire_time],
          ['id', leaseId],
          ['irrevocable', 'false'],
          ['issue_time', d.issue_time],
          ['last_renewal', '<nil>'],
          ['renewable', 'true'],
          ['revoke_attempts', '0'],
          ['ttl', ttl],
        ]),
      );

      const json = await run(['lease', 'lookup', '-format=json', leaseId]);
      assert.equal(json.code, 0, json.stderr);
      const env = JSON.parse(json.stdout);
      assert.ok(env.data.ttl > 3590 && env.data.ttl <= 3600, String(env.data.ttl));
      assert.deepEqual(env.data, { ...d, ttl: env.data.ttl });
      assert.deepEqual(await run(['lease', 'lookup', '-field=issue_time', leaseId]), { code: 0, stdout: d.issue_time, stderr: '' });
    });

    test('lease lookup of an unknown lease: exit 2 with the server\'s 400', async () => {
      const id = 'dyn/creds/ro/2f6a614c';
      assert.deepEqual(await run(['lease', 'lookup', id]), {
        code: 2,
        stdout: '',
        stderr: apiError(`error looking up lease id ${id}`, 'sys/leases/lookup', 400, 'invalid lease'),
      });
    });

    test('lease renew -increment: the lease table (lease_id, lease_duration, lease_renewable); -i; the engine renews', async () => {
      const { leaseId, user } = await issue('app', 600);
      const res = await run(['lease', 'renew', '-increment=1h', leaseId]);
      assert.deepEqual(res, {
        code: 0,
        stdout: kvTable([
          ['lease_id', leaseId],
          ['lease_duration', '1h'],
          ['lease_renewable', 'true'],
        ]),
        stderr: '',
      });
      assert.ok(leases.renewed.has(user), 'the engine was asked to renew');
      const after1h = (await leaseLookupApi(leaseId)).body.data;
      assert.ok(after1h.ttl > 3590, String(after1h.ttl));
      assert.notEqual(after1h.last_renewal, null);

      const json = await run(['lease', 'renew', '-i=90m', '-format=json', leaseId]);
      assert.equal(json.code, 0, json.stderr);
      const env = JSON.parse(json.stdout);
      assert.deepEqual([env.lease_id, env.lease_duration, env.renewable, env.data], [leaseId, 5400, true, null]);
      // lookup shows the renewal now.
      const d = (await leaseLookupApi(leaseId)).body.data;
      const look = await run(['lease', 'lookup', leaseId]);
      assert.equal(look.code, 0, look.stderr);
      assert.equal(/^last_renewal\s+(\S+)$/m.exec(look.stdout)?.[1], d.last_renewal);
      assert.ok(Date.parse(d.last_renewal) >= Date.parse(after1h.last_renewal));
    });

    test('lease renew of an unknown lease: exit 2 with the server\'s 400', async () => {
      const id = 'dyn/creds/app/2f6a614c';
      assert.deepEqual(await run(['lease', 'renew', '-increment=1h', id]), {
        code: 2,
        stdout: '',
        stderr: apiError(`Error renewing ${id}`, 'sys/leases/renew', 400, 'lease not found or lease is not renewable'),
      });
    });

    test('lease revoke ID (queued) and -sync ID: the engine revokes, the lease is gone; unknown ids succeed', async () => {
      const a = await issue('rev');
      const b = await issue('rev');
      assert.deepEqual(await run(['lease', 'revoke', a.leaseId]), { code: 0, stdout: QUEUED, stderr: '' });
      // Coffer revokes before answering even when not asked to wait.
      assert.ok(leases.revoked.has(a.user));
      assert.equal((await leaseLookupApi(a.leaseId)).status, 400);
      assert.ok(!leases.revoked.has(b.user), 'only that lease');
      assert.equal((await leaseLookupApi(b.leaseId)).status, 200);

      assert.deepEqual(await run(['lease', 'revoke', '-sync', b.leaseId]), { code: 0, stdout: `Success! Revoked lease: ${b.leaseId}\n`, stderr: '' });
      assert.ok(leases.revoked.has(b.user));
      // A revoked lease can no longer be looked up or renewed.
      assert.deepEqual(await run(['lease', 'lookup', b.leaseId]), {
        code: 2,
        stdout: '',
        stderr: apiError(`error looking up lease id ${b.leaseId}`, 'sys/leases/lookup', 400, 'invalid lease'),
      });
      assert.deepEqual(await run(['lease', 'renew', b.leaseId]), {
        code: 2,
        stdout: '',
        stderr: apiError(`Error renewing ${b.leaseId}`, 'sys/leases/renew', 400, 'lease not found or lease is not renewable'),
      });
      // Revoking an id that does not exist succeeds, as in vault.
      assert.deepEqual(await run(['lease', 'revoke', '-sync', 'dyn/creds/rev/2f6a614c']), {
        code: 0,
        stdout: 'Success! Revoked lease: dyn/creds/rev/2f6a614c\n',
        stderr: '',
      });
    });

    test('lease revoke -prefix (queued) and -sync -prefix: every lease under the prefix, nothing beside it', async () => {
      const bulk = [await issue('bulk'), await issue('bulk')];
      const beside = await issue('bulk-other'); // same leading characters, another path
      assert.deepEqual(await run(['lease', 'revoke', '-prefix', 'dyn/creds/bulk']), { code: 0, stdout: QUEUED, stderr: '' });
      for (const l of bulk) {
        assert.ok(leases.revoked.has(l.user), l.user);
        assert.equal((await leaseLookupApi(l.leaseId)).status, 400);
      }
      assert.ok(!leases.revoked.has(beside.user));
      assert.equal((await leaseLookupApi(beside.leaseId)).status, 200);

      const more = [await issue('more'), await issue('more')];
      assert.deepEqual(await run(['lease', 'revoke', '-sync', '-prefix', 'dyn/creds/more']), {
        code: 0,
        stdout: 'Success! Revoked any leases with prefix: dyn/creds/more\n',
        stderr: '',
      });
      for (const l of more) {
        assert.ok(leases.revoked.has(l.user), l.user);
        assert.equal((await leaseLookupApi(l.leaseId)).status, 400);
      }
      assert.equal((await leaseLookupApi(beside.leaseId)).status, 200);
      // revoke-prefix needs sudo.
      const t = await newToken({ policies: ['default'] });
      assert.deepEqual(await run(['lease', 'revoke', '-prefix', 'dyn/creds/bulk-other'], { env: { COFFER_TOKEN: t.token } }), {
        code: 2,
        stdout: '',
        stderr: apiError('Error revoking leases with prefix dyn/creds/bulk-other', 'sys/leases/revoke-prefix/dyn/creds/bulk-other', 403, 'permission denied'),
      });
      assert.equal((await leaseLookupApi(beside.leaseId)).status, 200);
    });

    test('lease revoke -force -prefix removes leases the engine cannot revoke, where -prefix fails (exit 2)', async () => {
      const stuck = await issue('stuck');
      const warning = 'Warning! Force-removing leases can cause coffer to become out of sync with\nsecret engines!\n';
      leases.failRevoke = true;
      try {
        // -sync: without it the revocations are queued (sys/leases/revoke-prefix with sync=false) and nothing fails here.
        assert.deepEqual(await run(['lease', 'revoke', '-sync', '-prefix', 'dyn/creds/stuck']), {
          code: 2,
          stdout: '',
          stderr: apiError(
            'Error revoking leases with prefix dyn/creds/stuck',
            'sys/leases/revoke-prefix/dyn/creds/stuck',
            400,
            'failed to revoke 1 lease(s) under "dyn/creds/stuck"; retry, or use revoke-force',
          ),
        });
        assert.equal((await leaseLookupApi(stuck.leaseId)).status, 200, 'kept after the failure');

        const t = await newToken({ policies: ['default'] });
        assert.deepEqual(await run(['lease', 'revoke', '-force', '-prefix', 'dyn/creds/stuck'], { env: { COFFER_TOKEN: t.token } }), {
          code: 2,
          stdout: '',
          stderr:
            warning +
            apiError('Error force revoking leases with prefix dyn/creds/stuck', 'sys/leases/revoke-force/dyn/creds/stuck', 403, 'permission denied'),
        });
        assert.equal((await leaseLookupApi(stuck.leaseId)).status, 200);

        assert.deepEqual(await run(['lease', 'revoke', '-force', '-prefix', 'dyn/creds/stuck']), {
          code: 0,
          stdout: 'Success! Force revoked any leases with prefix: dyn/creds/stuck\n',
          stderr: warning,
        });
        assert.equal((await leaseLookupApi(stuck.leaseId)).status, 400);
        assert.ok(!leases.revoked.has(stuck.user), 'removed from coffer without the engine revoking it: what -force is for');
        // -f is the short form; nothing left under the prefix is still a success.
        assert.deepEqual(await run(['lease', 'revoke', '-f', '-prefix', 'dyn/creds/stuck']), {
          code: 0,
          stdout: 'Success! Force revoked any leases with prefix: dyn/creds/stuck\n',
          stderr: warning,
        });
      } finally {
        leases.failRevoke = false;
      }
    });

    test('lease usage errors: missing ID, -force without -prefix, bad increment (exit 1 with help)', async () => {
      const cases: [string[], string][] = [
        [['lease', 'revoke'], 'Missing ID!'],
        [['lease', 'renew', 'a', 'b'], 'Too many arguments (expected 1, got 2)'],
        [['lease', 'revoke', '-force', 'x'], 'Specifying -force requires also specifying -prefix'],
        [['lease', 'renew', '-increment=forever', 'x'], 'invalid value "forever" for flag -increment: time: invalid duration "forever"'],
      ];
      const results = await Promise.all(cases.map(([args]) => run(args)));
      results.forEach((res, i) => {
        assert.equal(res.code, 1, res.stderr);
        assert.ok(res.stderr.startsWith(`${cases[i][1]}\n\nUsage: coffer lease `), res.stderr.slice(0, 200));
      });
    });

    test('a missing server: one line naming the address, exit 2', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const env = baseEnv(dead, home, { COFFER_TOKEN: 'cfs.x' });
      assert.deepEqual(await runCoffer(['token', 'lookup'], { env }), {
        code: 2,
        stdout: '',
        stderr: `Error looking up token: cannot reach the server at ${dead} (ECONNREFUSED)\n`,
      });
      assert.deepEqual(await runCoffer(['login', 'cfs.x'], { env }), {
        code: 2,
        stdout: '',
        stderr: `Error authenticating: error looking up token: cannot reach the server at ${dead} (ECONNREFUSED)\n`,
      });
      assert.deepEqual(await runCoffer(['operator', 'seal'], { env }), {
        code: 2,
        stdout: '',
        stderr: `Error sealing: cannot reach the server at ${dead} (ECONNREFUSED)\n`,
      });
    });
  });
});
