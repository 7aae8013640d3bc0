/**
 * The `-wrap-ttl` flag (and VAULT_WRAP_TTL) on coffer commands and `coffer unwrap [TOKEN]`, run as real `coffer`
 * processes against a dev server, with the vault CLI's output: the wrapping token's fields instead of the
 * response, `-field=wrapping_token`, json with `wrap_info`, and the unwrapped response printed like `read`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliDevServer } from '../helpers/cli.js';

const cli = cliDevServer('coffer-wrap-cli-', async ({ root }) => {
  assert.equal((await root.post('secret/data/app', { data: { password: 'hunter2' } })).status, 200);
});

/** The value of a `Key    Value` table row. */
const row = (table: string, key: string) => new RegExp(`^${key}\\s+(\\S+)$`, 'm').exec(table)?.[1];

describe('-wrap-ttl and coffer unwrap', () => {
  test('kv get -wrap-ttl prints the wrapping token only; unwrap TOKEN prints the secret once', async () => {
    const wrapped = await cli.ok(['kv', 'get', '-wrap-ttl=5m', 'secret/app']);
    assert.ok(!wrapped.includes('hunter2'));
    const token = row(wrapped, 'wrapping_token:');
    assert.match(token ?? '', /^cfs\./);
    assert.equal(row(wrapped, 'wrapping_token_ttl:'), '5m');
    assert.equal(row(wrapped, 'wrapping_token_creation_path:'), 'secret/data/app');
    const unwrapped = await cli.ok(['unwrap', '-format=json', token!]);
    assert.equal(JSON.parse(unwrapped).data.data.password, 'hunter2');
    const again = await cli.coffer(['unwrap', token!]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /wrapping token is not valid or does not exist/);
  });

  test('-field=wrapping_token, json wrap_info, and unwrap with the wrapping token as the client token', async () => {
    const token = await cli.ok(['read', '-wrap-ttl=2m', '-field=wrapping_token', 'secret/data/app']);
    assert.match(token, /^cfs\.[^\n]+$/);
    const json = JSON.parse(await cli.ok(['write', '-wrap-ttl=90s', '-format=json', 'sys/wrapping/wrap', 'k=v']));
    assert.equal(json.wrap_info.ttl, 90);
    assert.equal(json.data, null);
    // No client token of its own: the wrapping token authenticates the unwrap, as with `VAULT_TOKEN=... vault unwrap`.
    const field = await cli.ok(['unwrap', '-field=k'], { env: { VAULT_TOKEN: json.wrap_info.token } });
    assert.equal(field, 'v');
    const secret = await cli.ok(['unwrap', token], { env: { VAULT_TOKEN: '' } });
    assert.match(secret, /^data\s+map\[password:hunter2\]$/m, "printed as `read` prints a KV v2 response");
  });

  test('VAULT_WRAP_TTL wraps a token creation; wrapped_accessor names the token', async () => {
    const out = await cli.ok(['token', 'create', '-policy=default'], { env: { VAULT_WRAP_TTL: '1m' } });
    const token = row(out, 'wrapping_token:')!;
    const accessor = row(out, 'wrapped_accessor:');
    const unwrapped = JSON.parse(await cli.ok(['unwrap', '-format=json', token]));
    assert.equal(unwrapped.auth.accessor, accessor);
  });

  test('an invalid -wrap-ttl is refused by the server and nothing is printed on stdout', async () => {
    const r = await cli.coffer(['kv', 'get', '-wrap-ttl=soon', 'secret/app']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /X-Vault-Wrap-TTL/);
  });
});
