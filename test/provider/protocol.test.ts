/**
 * The provider driven over the plugin protocol the way Terraform drives it: launched with go-plugin's
 * environment, handshake parsed, gRPC over mutual TLS, every RPC the provider serves called with msgpack (and
 * JSON) values, against a live coffer dev server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { encode } from '@msgpack/msgpack';
import { decodeMsgpack, encodeMsgpack, UNKNOWN, type ObjectValue, type Value } from '../../provider/protocol/codec.js';
import { selfSignedCert, toPem } from '../../provider/protocol/cert.js';
import { blockType, type CtyType } from '../../provider/protocol/schema.js';
import { serviceDefinition, type Message } from '../../provider/protocol/rpc.js';
import { kvSecretV2Data } from '../../provider/data-sources/kv-secret-v2.js';
import { tokenEphemeral } from '../../provider/ephemeral/token.js';
import { genericSecretData } from '../../provider/data-sources/generic-secret.js';
import { policyResource } from '../../provider/resources/policy.js';
import { kvSecretV2Resource } from '../../provider/resources/kv-secret-v2.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { baseEnv, decodeRawStd, launch, runLauncher, unaryCall, type Launched, type LaunchOptions } from './plugin-client.js';

const KV_TYPE = blockType(kvSecretV2Data.schema.block);
const TOKEN_TYPE = blockType(tokenEphemeral.schema.block);
const GENERIC_TYPE = blockType(genericSecretData.schema.block);
const POLICY_TYPE = blockType(policyResource.schema.block);
const KV_RESOURCE_TYPE = blockType(kvSecretV2Resource.schema.block);
const PROVIDER_TYPE: CtyType = [
  'object',
  { address: 'string', token: 'string', ca_cert_file: 'string', skip_tls_verify: 'bool', max_lease_ttl_seconds: 'number', skip_child_token: 'bool', auth_login: ['list', ['object', { path: 'string', parameters: ['map', 'string'] }]] },
];

const dv = (value: Value, type: CtyType) => ({ msgpack: encodeMsgpack(value, type) });
const providerConfig = (over: ObjectValue = {}) => dv({ auth_login: [], ...over }, PROVIDER_TYPE);
const summaries = (res: Message) => ((res.diagnostics ?? []) as Message[]).map((d) => `${d.severity}: ${d.summary}${d.detail ? ` — ${d.detail}` : ''}`);
const attributePath = (d: Message) => ((d.attribute?.steps ?? []) as Message[]).map((s) => s.attribute_name ?? s.element_key_int);

let srv: TestServer;
let api: ReturnType<typeof client>;
const SECRET = 'p4ss-' + Math.random().toString(36).slice(2);

before(async () => {
  srv = await startDevServer();
  api = client(srv.addr, srv.token);
  assert.equal((await api.post('secret/data/app', { data: { password: SECRET, port: 5432 } })).status, 200);
  assert.equal((await api.put('sys/policies/acl/other-only', { policy: 'path "secret/data/other" { capabilities = ["read"] }' })).status, 204);
});

after(async () => {
  await srv?.close();
});

/** A launched provider configured against the test server. */
async function configured(over: ObjectValue = {}, options: LaunchOptions = {}): Promise<Launched> {
  const p = await launch(options);
  try {
    const res = await p.call('ConfigureProvider', { terraform_version: '1.11.4', config: providerConfig({ address: srv.addr, token: srv.token, ...over }) });
    assert.deepEqual(summaries(res), []);
  } catch (err) {
    await p.close();
    throw err;
  }
  return p;
}

describe('launch and handshake', () => {
  it('refuses to run without the magic cookie: a short explanation on stderr, nothing on stdout, exit 1', async () => {
    for (const cookie of [undefined, 'wrong']) {
      const r = await runLauncher(baseEnv({ TF_PLUGIN_MAGIC_COOKIE: cookie, PLUGIN_CLIENT_CERT: selfSignedCert().certPem }));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /Terraform provider plugin: Terraform starts it/);
      assert.ok(r.stderr.split('\n').length <= 2, 'one line, no stack trace');
    }
  });

  it('refuses hosts that do not offer protocol 6, and a client certificate that is not one', async () => {
    const r = await runLauncher(baseEnv({ PLUGIN_PROTOCOL_VERSIONS: '4,5', PLUGIN_CLIENT_CERT: selfSignedCert().certPem }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /speaks plugin protocol 6; the host offered 4, 5/);
    const bad = await runLauncher(baseEnv({ PLUGIN_CLIENT_CERT: 'not a certificate' }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /PLUGIN_CLIENT_CERT does not hold a PEM certificate/);
    assert.equal(bad.stdout, '');
  });

  it('prints one handshake line with protocol 6, a unix socket and the certificate in unpadded base64', async () => {
    const p = await launch();
    try {
      const h = p.handshake;
      assert.deepEqual([h.core, h.app, h.network, h.protocol], ['1', '6', 'unix', 'grpc']);
      assert.ok(existsSync(h.address), 'the socket exists');
      assert.doesNotMatch(h.cert, /=/, 'no base64 padding (go-plugin decodes with RawStdEncoding)');
      const der = decodeRawStd(h.cert);
      const x = new X509Certificate(der);
      assert.equal(x.checkHost('localhost'), 'localhost');
      // The same bytes with padding added are what a padded line would carry: a strict decoder refuses them.
      const padded = der.toString('base64');
      if (padded.endsWith('=')) assert.throws(() => decodeRawStd(padded), /unpadded/);
      assert.equal(Buffer.from(h.cert, 'base64').equals(der), true);
      assert.equal(p.stdout(), `${p.line}\n`, 'nothing else on stdout');
    } finally {
      await p.close();
    }
  });

  it('requires the client certificate Terraform announced (mutual TLS)', async () => {
    const p = await launch();
    try {
      const serverPem = toPem('CERTIFICATE', decodeRawStd(p.handshake.cert));
      const Ctor = grpc.makeGenericClientConstructor(serviceDefinition('tfplugin6.Provider') as grpc.ServiceDefinition, 'Provider');
      const options = { 'grpc.ssl_target_name_override': 'localhost' };
      const stranger = selfSignedCert('stranger');
      for (const creds of [
        grpc.credentials.createSsl(Buffer.from(serverPem)),
        grpc.credentials.createSsl(Buffer.from(serverPem), Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem)),
      ]) {
        const c = new Ctor(`unix:${p.handshake.address}`, creds, options) as any;
        await assert.rejects(unaryCall(c, 'GetProviderSchema'), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
        c.close();
      }
      // The announced client certificate works.
      assert.ok((await p.call('GetProviderSchema')).provider);
    } finally {
      await p.close();
    }
  });

  it('serves plaintext with no certificate in the line when TF_DISABLE_PLUGIN_TLS=1', async () => {
    const p = await launch({ tls: false });
    try {
      assert.equal(p.handshake.cert, '');
      assert.ok((await p.call('GetProviderSchema')).data_source_schemas.coffer_kv_secret_v2);
    } finally {
      await p.close();
    }
  });

  it('answers health checks for service "plugin", keeps the stdio stream open and empty, exits on Shutdown', async () => {
    const p = await launch();
    assert.deepEqual(await unaryCall(p.health, 'Check', { service: 'plugin' }), { status: 'SERVING' });
    await assert.rejects(unaryCall(p.health, 'Check', { service: 'nope' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    const stream = p.stdio.StreamStdio({});
    const chunks: unknown[] = [];
    stream.on('data', (d: unknown) => chunks.push(d));
    const ended = new Promise<string>((resolve) => {
      stream.on('end', () => resolve('end'));
      stream.on('error', (e: grpc.ServiceError) => resolve(`error ${e.code}`));
    });
    assert.deepEqual(await unaryCall(p.controller, 'Shutdown', {}), {});
    assert.equal(await p.exited, 0);
    assert.match(await ended, /^(end|error \d+)$/);
    assert.deepEqual(chunks, []);
    assert.equal(existsSync(p.handshake.address), false, 'socket removed');
    await p.close();
  });
});

describe('schema and configuration', () => {
  it('GetProviderSchema describes the provider, data sources and ephemeral resources', async () => {
    const p = await launch();
    try {
      const s = await p.call('GetProviderSchema');
      assert.deepEqual(summaries(s), []);
      assert.deepEqual(Object.keys(s.data_source_schemas).sort(), ['coffer_database_credentials', 'coffer_generic_secret', 'coffer_kv_secret_v2', 'coffer_kv_secrets_list_v2', 'coffer_policy_document']);
      assert.deepEqual(Object.keys(s.ephemeral_resource_schemas).sort(), ['coffer_database_credentials', 'coffer_generic_secret', 'coffer_kv_secret_v2', 'coffer_pki_certificate', 'coffer_token']);
      const attr = (schema: Message, name: string) => (schema.block.attributes as Message[]).find((a) => a.name === name)!;
      assert.equal(attr(s.provider, 'token').sensitive, true);
      assert.equal(Buffer.from(attr(s.provider, 'max_lease_ttl_seconds').type).toString(), '"number"');
      assert.equal(attr(s.data_source_schemas.coffer_database_credentials, 'password').sensitive, true);
      assert.equal(Buffer.from(attr(s.data_source_schemas.coffer_kv_secret_v2, 'data').type).toString(), '["map","string"]');
      const rule = (s.data_source_schemas.coffer_policy_document.block.block_types as Message[])[0];
      assert.equal(rule.type_name, 'rule');
      assert.equal(rule.nesting, 'LIST');
      const login = (s.provider.block.block_types as Message[])[0];
      assert.deepEqual([login.type_name, login.max_items], ['auth_login', 1]);
      const meta = await p.call('GetMetadata');
      assert.equal(meta.data_sources.length, 5);
    } finally {
      await p.close();
    }
  });

  it('ValidateProviderConfig points at the attribute at fault and leaves unknown values alone', async () => {
    const p = await launch();
    try {
      const bad = await p.call('ValidateProviderConfig', { config: providerConfig({ address: 'ftp://x', max_lease_ttl_seconds: -5 }) });
      const byPath = new Map((bad.diagnostics as Message[]).map((d) => [attributePath(d).join('.'), d]));
      assert.equal(byPath.get('address')?.severity, 'ERROR');
      assert.match(byPath.get('address')?.detail, /http:\/\/ or https:\/\//);
      assert.match(byPath.get('max_lease_ttl_seconds')?.detail, /positive/);
      const unknown = await p.call('ValidateProviderConfig', { config: providerConfig({ address: UNKNOWN, token: UNKNOWN }) });
      assert.deepEqual(summaries(unknown), []);
      // JSON is accepted as well as msgpack.
      const json = await p.call('ValidateProviderConfig', { config: { json: Buffer.from(JSON.stringify({ address: 'nope', auth_login: [] })) } });
      assert.deepEqual((json.diagnostics as Message[]).map(attributePath), [['address']]);
    } finally {
      await p.close();
    }
  });

  it('ConfigureProvider explains a missing address, a missing token, a wrong token and an unreachable server', async () => {
    const cases: [ObjectValue, Record<string, string>, RegExp, string][] = [
      [{}, {}, /no coffer server address/, 'address'],
      [{ address: srv.addr }, {}, /no coffer token/, 'token'],
      [{ address: srv.addr, token: 'cfs.not-a-real-token' }, {}, /token was not accepted by the coffer server at http:\/\/127\.0\.0\.1:\d+/, 'token'],
      [{ address: 'http://127.0.0.1:9', token: 'x' }, {}, /cannot reach the coffer server at http:\/\/127\.0\.0\.1:9/, 'address'],
    ];
    for (const [config, env, expected, at] of cases) {
      const p = await launch({ env: { ...env, HOME: '/nonexistent' } });
      try {
        const res = await p.call('ConfigureProvider', { config: providerConfig(config) });
        assert.equal(res.diagnostics.length, 1, summaries(res).join('\n'));
        assert.match(summaries(res)[0], expected);
        assert.deepEqual(attributePath(res.diagnostics[0]), [at]);
        assert.doesNotMatch(JSON.stringify(res), /cfs\.not-a-real-token/, 'the token is never echoed');
      } finally {
        await p.close();
      }
    }
  });

  it('reads the address and token from COFFER_* and falls back to VAULT_*', async () => {
    for (const env of [{ COFFER_ADDR: srv.addr, COFFER_TOKEN: srv.token }, { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token }]) {
      const p = await launch({ env });
      try {
        assert.deepEqual(summaries(await p.call('ConfigureProvider', { config: providerConfig() })), []);
        const read = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config: dv({ mount: 'secret', name: 'app' }, KV_TYPE) });
        assert.deepEqual(summaries(read), []);
      } finally {
        await p.close();
      }
    }
  });
});

describe('data sources', () => {
  it('reads a KV v2 secret: every attribute present, nil where unset, values as the server holds them', async () => {
    const p = await configured();
    try {
      const res = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config: dv({ mount: 'secret', name: 'app' }, KV_TYPE) });
      assert.deepEqual(summaries(res), []);
      assert.equal(res.deferred, undefined);
      const state = decodeMsgpack(res.state.msgpack, KV_TYPE) as ObjectValue;
      assert.deepEqual(state.data, { password: SECRET, port: '5432' });
      assert.deepEqual(JSON.parse(state.data_json as string), { password: SECRET, port: 5432 });
      assert.equal(state.path, 'secret/data/app');
      assert.equal(state.version, null, 'an unset optional attribute stays nil');
      assert.equal(state.deletion_time, null);
      assert.equal(state.destroyed, false);
      assert.match(state.created_time as string, /^\d{4}-\d{2}-\d{2}T/);
      // The raw msgpack map has exactly the schema's attributes.
      const { decode } = await import('@msgpack/msgpack');
      assert.deepEqual(Object.keys(decode(res.state.msgpack) as object).sort(), Object.keys((KV_TYPE as ['object', object])[1]).sort());
    } finally {
      await p.close();
    }
  });

  it('answers unknown (and deferred when allowed) for a config with unknown values', async () => {
    const p = await configured();
    try {
      const config = dv({ mount: 'secret', name: UNKNOWN }, KV_TYPE);
      const deferred = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config, client_capabilities: { deferral_allowed: true } });
      assert.deepEqual(summaries(deferred), []);
      assert.deepEqual(deferred.deferred, { reason: 'RESOURCE_CONFIG_UNKNOWN' });
      const state = decodeMsgpack(deferred.state.msgpack, KV_TYPE) as ObjectValue;
      assert.equal(state.name, UNKNOWN);
      assert.equal(state.mount, 'secret');
      assert.equal(state.data, UNKNOWN);
      assert.equal(state.version, null, 'optional, not computed: stays as configured');
      const plain = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config });
      assert.equal(plain.deferred, undefined);
      assert.equal((decodeMsgpack(plain.state.msgpack, KV_TYPE) as ObjectValue).data_json, UNKNOWN);
    } finally {
      await p.close();
    }
  });

  it('defers everything while the provider configuration itself is unknown', async () => {
    const p = await launch();
    try {
      assert.deepEqual(summaries(await p.call('ConfigureProvider', { config: providerConfig({ address: UNKNOWN, token: srv.token }) })), []);
      const config = dv({ mount: 'secret', name: 'app' }, KV_TYPE);
      const res = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config, client_capabilities: { deferral_allowed: true } });
      assert.deepEqual(res.deferred, { reason: 'PROVIDER_CONFIG_UNKNOWN' });
      const refused = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config });
      assert.match(summaries(refused)[0], /Provider configuration not known yet/);
    } finally {
      await p.close();
    }
  });

  it('names the path of a secret that does not exist, and the policies of a token that may not read it', async () => {
    const limited = (await api.post('auth/token/create', { policies: ['other-only'], ttl: '10m' })).body.auth.client_token;
    // Without the right to create tokens the provider cannot make its child token, and says how to do without.
    const noChild = await launch();
    try {
      const res = await noChild.call('ConfigureProvider', { config: providerConfig({ address: srv.addr, token: limited }) });
      assert.match(summaries(res)[0], /^ERROR: permission denied creating auth\/token\/create: the token's policies \(default, other-only\) do not grant update — The provider runs with a child token.*skip_child_token = true.*Grant "update" on "auth\/token\/create"/);
      assert.doesNotMatch(JSON.stringify(res), new RegExp(limited.replace('.', '\\.')));
    } finally {
      await noChild.close();
    }
    const p = await configured();
    const q = await configured({ token: limited, skip_child_token: true }).catch(async (err) => {
      await p.close();
      throw err;
    });
    try {
      const missing = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config: dv({ mount: 'secret', name: 'nope/here' }, KV_TYPE) });
      assert.deepEqual(summaries(missing).map((s) => s.split(' — ')[0]), ['ERROR: no secret found at secret/data/nope/here']);
      const denied = await q.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config: dv({ mount: 'secret', name: 'app' }, KV_TYPE) });
      assert.match(summaries(denied)[0], /^ERROR: permission denied reading secret\/data\/app: the token's policies \(default, other-only\) do not grant read/);
      const generic = await p.call('ReadDataSource', { type_name: 'coffer_generic_secret', config: dv({ path: 'secret/app' }, GENERIC_TYPE) });
      assert.deepEqual(summaries(generic), []);
      const g = decodeMsgpack(generic.state.msgpack, GENERIC_TYPE) as ObjectValue;
      assert.equal((g.data as ObjectValue).password, SECRET, 'a KV v2 path is read through data/ and unwrapped');
      assert.equal(g.lease_id, '');
      const badPath = await p.call('ValidateDataResourceConfig', { type_name: 'coffer_generic_secret', config: dv({ path: 'secret/../sys' }, GENERIC_TYPE) });
      assert.deepEqual((badPath.diagnostics as Message[]).map(attributePath), [['path']]);
    } finally {
      await p.close();
      await q.close();
    }
  });

  it('rejects an object carrying an attribute the schema does not have, and an unknown type name', async () => {
    const p = await configured();
    try {
      const extra = await p.call('ReadDataSource', { type_name: 'coffer_kv_secret_v2', config: { msgpack: encode({ mount: 'secret', name: 'app', bogus: 1 }) } });
      assert.match(summaries(extra)[0], /Invalid value/);
      assert.deepEqual(attributePath(extra.diagnostics[0]), ['bogus']);
      const unknownType = await p.call('ReadDataSource', { type_name: 'coffer_nothing', config: dv({}, ['object', {}]) });
      assert.match(summaries(unknownType)[0], /Unknown data source type "coffer_nothing"/);
    } finally {
      await p.close();
    }
  });
});

describe('ephemeral resources and shutdown', () => {
  it('opens a token, renews it, revokes it at close', async () => {
    const p = await configured();
    try {
      const config = dv({ policies: ['other-only'], ttl: '5m' }, TOKEN_TYPE);
      assert.deepEqual(summaries(await p.call('ValidateEphemeralResourceConfig', { type_name: 'coffer_token', config })), []);
      const opened = await p.call('OpenEphemeralResource', { type_name: 'coffer_token', config });
      assert.deepEqual(summaries(opened), []);
      const result = decodeMsgpack(opened.result.msgpack, TOKEN_TYPE) as ObjectValue;
      const token = result.client_token as string;
      assert.match(token, /^cfs\./);
      assert.ok(opened.renew_at.seconds > Date.now() / 1000, 'renew_at lies ahead');
      assert.doesNotMatch(Buffer.from(opened.private).toString(), new RegExp(token.replace('.', '\\.')), 'private data holds the accessor, not the token');
      const self = await client(srv.addr, token).get('auth/token/lookup-self');
      assert.equal(self.status, 200);
      assert.deepEqual(self.body.data.policies, ['default', 'other-only']);
      const renewed = await p.call('RenewEphemeralResource', { type_name: 'coffer_token', private: opened.private });
      assert.deepEqual(summaries(renewed), []);
      assert.ok(renewed.renew_at.seconds >= opened.renew_at.seconds - 1);
      assert.deepEqual(summaries(await p.call('CloseEphemeralResource', { type_name: 'coffer_token', private: opened.private })), []);
      assert.equal((await client(srv.addr, token).get('auth/token/lookup-self')).status, 403, 'revoked at close');
      const forged = await p.call('CloseEphemeralResource', { type_name: 'coffer_token', private: Buffer.from('{"kind":"nope"}') });
      assert.match(summaries(forged)[0], /Unreadable private data/);
    } finally {
      await p.close();
    }
  });

  it('answers an ephemeral open with unknown config as unknown/deferred, and reads KV ephemerally', async () => {
    const p = await configured();
    try {
      const pending = await p.call('OpenEphemeralResource', {
        type_name: 'coffer_kv_secret_v2',
        config: dv({ mount: UNKNOWN, name: 'app' }, KV_TYPE),
        client_capabilities: { deferral_allowed: true },
      });
      assert.deepEqual(pending.deferred, { reason: 'RESOURCE_CONFIG_UNKNOWN' });
      assert.equal((decodeMsgpack(pending.result.msgpack, KV_TYPE) as ObjectValue).data, UNKNOWN);
      const opened = await p.call('OpenEphemeralResource', { type_name: 'coffer_kv_secret_v2', config: dv({ mount: 'secret', name: 'app' }, KV_TYPE) });
      assert.equal(((decodeMsgpack(opened.result.msgpack, KV_TYPE) as ObjectValue).data as ObjectValue).password, SECRET);
      assert.equal(opened.private, undefined, 'nothing to renew or revoke for a static secret');
      assert.equal(opened.renew_at, undefined);
    } finally {
      await p.close();
    }
  });

  it('runs with a child token that StopProvider leaves alone and Shutdown revokes', async () => {
    const accessors = async () => ((await api.list('auth/token/accessors')).body?.data?.keys ?? []) as string[];
    const before = new Set(await accessors());
    const p = await configured({ max_lease_ttl_seconds: 300 });
    const added = (await accessors()).filter((a) => !before.has(a));
    assert.equal(added.length, 1, 'one child token created');
    const child = await api.post('auth/token/lookup-accessor', { accessor: added[0] });
    assert.equal(child.body.data.display_name, 'token-terraform');
    assert.ok(child.body.data.ttl <= 300 && child.body.data.ttl > 200);
    assert.deepEqual(await p.call('StopProvider', {}), {});
    assert.equal((await api.post('auth/token/lookup-accessor', { accessor: added[0] })).status, 200, 'still valid after StopProvider');
    await unaryCall(p.controller, 'Shutdown', {});
    assert.equal(await p.exited, 0);
    assert.equal((await api.post('auth/token/lookup-accessor', { accessor: added[0] })).status, 400, 'revoked at shutdown');
    assert.doesNotMatch(p.stderr(), /\n\s+at /, 'no stack trace');
    await p.close();
  });
});

describe('a host that dies', () => {
  it('shuts down and revokes its child token when Terraform is killed without stopping it', async () => {
    const accessors = async () => ((await api.list('auth/token/accessors')).body?.data?.keys ?? []) as string[];
    const before = new Set(await accessors());
    const p = await configured({ max_lease_ttl_seconds: 300 }, { underShell: true });
    // The shell's child is the provider itself (the launcher execs node).
    const providerPid = Number(execFileSync('pgrep', ['-P', String(p.child.pid)]).toString().trim().split('\n')[0]);
    try {
      const added = (await accessors()).filter((a) => !before.has(a));
      assert.equal(added.length, 1, 'one child token created');
      // The provider holds the write end of the pipe: it closes when the provider process has exited.
      const providerExited = new Promise<void>((resolve) => p.child.stdout!.on('close', () => resolve()));
      p.child.kill('SIGKILL'); // the host: no StopProvider, no Shutdown
      const outcome = await Promise.race([providerExited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
      assert.equal(outcome, 'exited', 'the orphaned provider exits by itself');
      assert.equal((await api.post('auth/token/lookup-accessor', { accessor: added[0] })).status, 400, 'its child token was revoked');
      assert.match(p.stderr(), /Terraform \(pid \d+\) is gone without stopping the provider; shutting down/);
      assert.doesNotMatch(p.stderr(), /\n\s+at /, 'no stack trace');
    } finally {
      // A provider that failed to notice would otherwise outlive the test and hold its output pipes open.
      try {
        process.kill(providerPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
      await p.close();
    }
  });
});

describe('managed resources', () => {
  it('plans create, replacement and destroy; applies, reads, imports and upgrades state', async () => {
    const p = await configured();
    const name = `proto-${Math.random().toString(36).slice(2, 8)}`;
    const policy = 'path "a/*" {\n  capabilities = ["read"]\n}\n';
    const plan = (prior: Value, proposed: Value) =>
      p.call('PlanResourceChange', { type_name: 'coffer_policy', prior_state: dv(prior, POLICY_TYPE), proposed_new_state: dv(proposed, POLICY_TYPE), config: dv(proposed, POLICY_TYPE) });
    try {
      const schema = await p.call('GetProviderSchema');
      assert.deepEqual(Object.keys(schema.resource_schemas).sort(), ['coffer_auth_backend', 'coffer_database_connection', 'coffer_database_role', 'coffer_kubernetes_auth_backend_role', 'coffer_kv_secret_v2', 'coffer_mount', 'coffer_policy', 'coffer_token']);

      const created = await plan(null, { id: null, name, policy });
      assert.deepEqual(summaries(created), []);
      assert.deepEqual(decodeMsgpack(created.planned_state.msgpack, POLICY_TYPE), { id: UNKNOWN, name, policy }, 'computed id unknown until apply');
      const applied = await p.call('ApplyResourceChange', { type_name: 'coffer_policy', prior_state: dv(null, POLICY_TYPE), planned_state: created.planned_state, config: dv({ id: null, name, policy }, POLICY_TYPE) });
      assert.deepEqual(summaries(applied), []);
      const state = decodeMsgpack(applied.new_state.msgpack, POLICY_TYPE) as ObjectValue;
      assert.deepEqual(state, { id: name, name, policy });
      assert.equal((await api.get(`sys/policies/acl/${name}`)).body.data.policy, policy);

      const renamed = await plan(state, { ...state, name: `${name}-2` });
      assert.deepEqual(renamed.requires_replace, [{ steps: [{ attribute_name: 'name' }] }]);
      const edited = await plan(state, { ...state, policy: 'path "b" { capabilities = ["list"] }' });
      assert.equal(edited.requires_replace, undefined, 'a policy edit is an in-place update');
      assert.equal((decodeMsgpack(edited.planned_state.msgpack, POLICY_TYPE) as ObjectValue).id, name, 'the id is kept');
      assert.equal(decodeMsgpack((await plan(state, null)).planned_state.msgpack, POLICY_TYPE), null);

      const imported = await p.call('ImportResourceState', { type_name: 'coffer_policy', id: name });
      const importedState = imported.imported_resources[0].state;
      const read = await p.call('ReadResource', { type_name: 'coffer_policy', current_state: importedState });
      assert.deepEqual(decodeMsgpack(read.new_state.msgpack, POLICY_TYPE), { id: name, name, policy });

      const upgraded = await p.call('UpgradeResourceState', { type_name: 'coffer_policy', version: 0, raw_state: { json: Buffer.from(JSON.stringify(state)) } });
      assert.deepEqual(decodeMsgpack(upgraded.upgraded_state.msgpack, POLICY_TYPE), state);

      const destroyed = await p.call('ApplyResourceChange', { type_name: 'coffer_policy', prior_state: dv(state, POLICY_TYPE), planned_state: dv(null, POLICY_TYPE), config: dv(null, POLICY_TYPE) });
      assert.deepEqual(summaries(destroyed), []);
      assert.equal((await api.get(`sys/policies/acl/${name}`)).status, 404);
      const gone = await p.call('ReadResource', { type_name: 'coffer_policy', current_state: dv(state, POLICY_TYPE) });
      assert.equal(decodeMsgpack(gone.new_state.msgpack, POLICY_TYPE), null, 'a deleted object reads as gone');
    } finally {
      await p.close();
    }
  });

  it('keeps a write-only value out of planned and new state, and writes it only when its version changes', async () => {
    const p = await configured();
    const name = `proto-wo-${Math.random().toString(36).slice(2, 8)}`;
    const secret = `s-${Math.random().toString(36).slice(2)}`;
    const empty: ObjectValue = Object.fromEntries(Object.keys((KV_RESOURCE_TYPE as ['object', Record<string, CtyType>])[1]).map((k) => [k, null]));
    const cfg = (value: string, version: number): ObjectValue => ({ ...empty, mount: 'secret', name, data_json_wo: JSON.stringify({ v: value }), data_json_wo_version: version, custom_metadata: [] });
    const call = (rpc: string, body: Record<string, Value>) =>
      p.call(rpc, Object.fromEntries(Object.entries({ type_name: 'coffer_kv_secret_v2', ...body }).map(([k, v]) => [k, typeof v === 'string' ? v : dv(v, KV_RESOURCE_TYPE)])));
    try {
      const first = cfg(secret, 1);
      const planned = await call('PlanResourceChange', { prior_state: null, proposed_new_state: first, config: first });
      assert.deepEqual(summaries(planned), []);
      const plannedState = decodeMsgpack(planned.planned_state.msgpack, KV_RESOURCE_TYPE) as ObjectValue;
      assert.equal(plannedState.data_json_wo, null, 'null in the planned state');
      assert.equal(plannedState.metadata, UNKNOWN);
      const applied = await p.call('ApplyResourceChange', { type_name: 'coffer_kv_secret_v2', prior_state: dv(null, KV_RESOURCE_TYPE), planned_state: planned.planned_state, config: dv(first, KV_RESOURCE_TYPE) });
      assert.deepEqual(summaries(applied), []);
      const state = decodeMsgpack(applied.new_state.msgpack, KV_RESOURCE_TYPE) as ObjectValue;
      assert.equal(state.data_json_wo, null, 'null in the new state');
      assert.equal(state.data, null, 'no data read back for a write-only secret');
      assert.equal((state.metadata as ObjectValue).version, '1');
      assert.deepEqual((await api.get(`secret/data/${name}`)).body.data.data, { v: secret });

      // Same version, another value: no change planned, nothing written.
      const same = cfg('other', 1);
      const unchanged = await call('PlanResourceChange', { prior_state: state, proposed_new_state: { ...state, data_json_wo: 'x' }, config: same });
      assert.deepEqual(decodeMsgpack(unchanged.planned_state.msgpack, KV_RESOURCE_TYPE), state);
      const bumped = cfg('other', 2);
      const next = await call('PlanResourceChange', { prior_state: state, proposed_new_state: { ...state, data_json_wo: bumped.data_json_wo, data_json_wo_version: 2 }, config: bumped });
      assert.equal((decodeMsgpack(next.planned_state.msgpack, KV_RESOURCE_TYPE) as ObjectValue).metadata, UNKNOWN, 'a new version is written');
      const updated = await p.call('ApplyResourceChange', { type_name: 'coffer_kv_secret_v2', prior_state: dv(state, KV_RESOURCE_TYPE), planned_state: next.planned_state, config: dv(bumped, KV_RESOURCE_TYPE) });
      assert.deepEqual(summaries(updated), []);
      assert.deepEqual((await api.get(`secret/data/${name}`)).body.data.data, { v: 'other' });
      assert.equal(((decodeMsgpack(updated.new_state.msgpack, KV_RESOURCE_TYPE) as ObjectValue).metadata as ObjectValue).version, '2');

      const invalid = await call('ValidateResourceConfig', { config: { ...first, data_json_wo: `{${secret}` } });
      assert.deepEqual(summaries(invalid).map((s) => s.split(' — ')[0]), ['ERROR: Invalid value for data_json_wo']);
      assert.ok(!JSON.stringify(summaries(invalid)).includes(secret), 'the value is not quoted');
    } finally {
      await api.delete(`secret/metadata/${name}`);
      await p.close();
    }
  });
});
