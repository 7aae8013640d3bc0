import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryStorage } from '../../src/storage/memory.js';
import { StorageView } from '../../src/storage/view.js';
import { CofferError } from '../../src/sdk/errors.js';
import { AuditBroker, formatAuditTime, type AuditRequestInput, type AuditResponseInput } from '../../src/core/audit/broker.js';
import { hashStructure } from '../../src/core/audit/hash.js';
import { parseFileDeviceOptions } from '../../src/core/audit/device.js';

const TOKEN = 'hvs.CAESIJT2KM9n2KJqgE267EHJSY0c4NWtTRnBsNWhzUDkQZQ';
const ACCESSOR = 'bwMAYYBByYBMYs6YbWggfXdA';
const SECRET = 's3cr3t-P@ssw0rd-value-42';
const CHILD_TOKEN = 'hvs.childTokenValueThatMustNotLeak0001';

let root: string;
before(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'coffer-audit-'));
});
after(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = path.join(root, `case-${++counter}`);
  await fsp.mkdir(dir);
  return dir;
}

function newStorage() {
  return new StorageView(new MemoryStorage(), 'core/audit/');
}

function kvRequest(extra: Partial<AuditRequestInput> = {}): AuditRequestInput {
  return {
    requestId: '8c7af6ed-1747-fae0-2316-f1fd3ed456a5',
    operation: 'update',
    path: 'secret/data/app',
    mountType: 'kv',
    mountPoint: 'secret/',
    clientToken: TOKEN,
    accessor: ACCESSOR,
    displayName: 'token-app',
    policies: ['default', 'app'],
    tokenPolicies: ['default', 'app'],
    metadata: { team: 'payments' },
    tokenType: 'service',
    remoteAddress: '127.0.0.1',
    data: { data: { password: SECRET, nested: [SECRET, { again: SECRET }] }, options: { cas: 0 } },
    ...extra,
  };
}

function kvResponse(extra: Partial<AuditResponseInput> = {}): AuditResponseInput {
  return {
    ...kvRequest(),
    status: 200,
    responseData: { data: { password: SECRET }, metadata: { version: 3, destroyed: false, deletion_time: '' } },
    ...extra,
  };
}

/** The entries of a log, without the test entry each device writes when it is enabled. */
async function readLines(file: string): Promise<any[]> {
  const text = await fsp.readFile(file, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.request?.path !== 'sys/audit/test');
}

function forms(value: string): string[] {
  const b = Buffer.from(value, 'utf8');
  return [value, b.toString('base64'), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase()];
}

async function rejects500(p: Promise<unknown>) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CofferError);
    assert.equal(err.status, 500);
    assert.deepEqual(err.errors, ['internal error']);
    return true;
  });
}

async function rejects400(p: Promise<unknown>, re?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CofferError, `expected CofferError, got ${String(err)}`);
    assert.equal(err.status, 400);
    if (re) assert.match(err.message, re);
    return true;
  });
}

describe('hashStructure', () => {
  const hmac = (s: string) => createHmac('sha256', 'k').update(s).digest('hex');
  const h = (s: string) => 'hmac-sha256:' + hmac(s);

  it('hashes strings at any depth in objects and arrays, keeps other scalars and keys', () => {
    const input = {
      a: 'x',
      n: 1,
      b: true,
      z: null,
      list: ['p', 2, ['q', { r: 's' }], null],
      deep: { deeper: { deepest: 'v', num: 3.5 } },
    };
    const out = hashStructure(input, hmac);
    assert.deepEqual(out, {
      a: h('x'),
      n: 1,
      b: true,
      z: null,
      list: [h('p'), 2, [h('q'), { r: h('s') }], null],
      deep: { deeper: { deepest: h('v'), num: 3.5 } },
    });
    // a deep copy: the input is untouched
    assert.equal(input.a, 'x');
    assert.equal((input.list[2] as any)[1].r, 's');
  });

  it('leaves non-HMAC paths (and their subtrees) clear, matching whole segments only', () => {
    const input = {
      type: 'request',
      request: { path: 'secret/x', data: { path: 'hashed' }, list: ['a'] },
      auth: { policies: ['default', 'root'], client_token: 't' },
      'request.path': 'hashed too',
    };
    const out = hashStructure(input, hmac, { nonHmacPaths: ['type', 'request.path', 'auth.policies', 'request.list'] });
    assert.deepEqual(out, {
      type: 'request',
      request: { path: 'secret/x', data: { path: h('hashed') }, list: ['a'] },
      auth: { policies: ['default', 'root'], client_token: h('t') },
      'request.path': h('hashed too'),
    });
  });

  it('hashes buffers as base64 and dates as ISO strings, drops undefined', () => {
    const d = new Date('2024-01-02T03:04:05.678Z');
    const out = hashStructure({ buf: Buffer.from('raw'), d, u: undefined, arr: [undefined] }, hmac) as any;
    assert.equal(out.buf, h(Buffer.from('raw').toString('base64')));
    assert.equal(out.d, h(d.toISOString()));
    assert.ok(!('u' in out));
    assert.deepEqual(out.arr, [null]);
  });

  it('refuses circular structures', () => {
    const a: any = { x: 'y' };
    a.self = a;
    assert.throws(() => hashStructure(a, hmac));
  });
});

describe('file device options', () => {
  it('applies Vault defaults and validates', () => {
    assert.deepEqual(parseFileDeviceOptions({ file_path: '/x' }), {
      filePath: '/x', logRaw: false, hmacAccessor: true, elideListResponses: false, mode: 0o600, prefix: '',
    });
    assert.equal(parseFileDeviceOptions({ path: '/legacy' }).filePath, '/legacy');
    assert.equal(parseFileDeviceOptions({ file_path: '/x', log_raw: 'T' }).logRaw, true);
    assert.throws(() => parseFileDeviceOptions({}), /file_path is required/);
    assert.throws(() => parseFileDeviceOptions({ file_path: '/x', log_raw: 'yes' }), /log_raw/);
    assert.throws(() => parseFileDeviceOptions({ file_path: '/x', mode: '0755' }), /mode/);
    assert.throws(() => parseFileDeviceOptions({ file_path: '/x', mode: 'rw' }), /mode/);
    assert.throws(() => parseFileDeviceOptions({ file_path: '/x', format: 'jsonx' }), /format/);
    assert.throws(() => parseFileDeviceOptions({ file_path: '/x', bogus: '1' }), /bogus/);
  });
});

describe('formatAuditTime', () => {
  it('prints RFC 3339 with trimmed sub-second digits', () => {
    assert.equal(formatAuditTime(new Date('2024-01-02T03:04:05.120Z')), '2024-01-02T03:04:05.12Z');
    assert.equal(formatAuditTime(new Date('2024-01-02T03:04:05.000Z')), '2024-01-02T03:04:05Z');
  });
});

describe('AuditBroker', () => {
  it('with no devices logging is a no-op', async () => {
    const broker = new AuditBroker(newStorage());
    assert.equal(broker.hasDevices(), false);
    await broker.logRequest(kvRequest());
    await broker.logResponse(kvResponse());
  });

  it('logs a hashed request/response pair; no clear secret or token in any form; hash() reproduces it', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', 'Store logs in a file', { file_path: file });
    assert.equal(broker.hasDevices(), true);
    assert.deepEqual(broker.list(), {
      'file/': { type: 'file', description: 'Store logs in a file', options: { file_path: file }, path: 'file/', local: false },
    });

    await broker.logRequest(kvRequest());
    await broker.logResponse(
      kvResponse({
        auth: {
          client_token: CHILD_TOKEN, accessor: 'childAccessor123', policies: ['default'], token_policies: ['default'],
          metadata: null, lease_duration: 3600, renewable: true, entity_id: '', token_type: 'service', orphan: false, num_uses: 0,
        },
        secret: { lease_id: 'secret/creds/abc' },
        warnings: ['something to know'],
      }),
    );

    const text = await fsp.readFile(file, 'utf8');
    for (const needle of [SECRET, TOKEN, ACCESSOR, CHILD_TOKEN, 'childAccessor123']) {
      for (const form of forms(needle)) assert.ok(!text.includes(form), `found a form of a sensitive value in the log`);
    }
    const lines = await readLines(file);
    assert.equal(lines.length, 2);
    const [req, res] = lines;

    assert.equal(req.type, 'request');
    assert.match(req.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(req.request.id, '8c7af6ed-1747-fae0-2316-f1fd3ed456a5');
    assert.equal(req.request.operation, 'update');
    assert.equal(req.request.path, 'secret/data/app');
    assert.equal(req.request.mount_type, 'kv');
    assert.equal(req.request.remote_address, '127.0.0.1');
    assert.equal(req.request.client_token, broker.hash('file', TOKEN));
    assert.equal(req.request.client_token_accessor, broker.hash('file', ACCESSOR));
    assert.equal(req.auth.client_token, broker.hash('file/', TOKEN));
    assert.equal(req.auth.accessor, broker.hash('file', ACCESSOR));
    assert.equal(req.auth.display_name, 'token-app');
    assert.deepEqual(req.auth.policies, ['default', 'app']);
    assert.deepEqual(req.auth.token_policies, ['default', 'app']);
    assert.deepEqual(req.auth.metadata, { team: 'payments' });
    assert.equal(req.auth.token_type, 'service');
    assert.equal(req.request.data.data.password, broker.hash('file', SECRET));
    assert.deepEqual(req.request.data.data.nested, [broker.hash('file', SECRET), { again: broker.hash('file', SECRET) }]);
    assert.equal(req.request.data.options.cas, 0);
    assert.ok(!('response' in req));

    assert.equal(res.type, 'response');
    assert.equal(res.status, 200);
    assert.ok(!('error' in res));
    assert.equal(res.request.id, req.request.id);
    assert.equal(res.response.mount_type, 'kv');
    assert.equal(res.response.data.data.password, broker.hash('file', SECRET));
    assert.equal(res.response.data.metadata.version, 3);
    assert.equal(res.response.data.metadata.destroyed, false);
    assert.equal(res.response.secret.lease_id, 'secret/creds/abc');
    assert.deepEqual(res.response.warnings, ['something to know']);
    assert.equal(res.response.auth.client_token, broker.hash('file', CHILD_TOKEN));
    assert.equal(res.response.auth.accessor, broker.hash('file', 'childAccessor123'));
    assert.deepEqual(res.response.auth.policies, ['default']);
    assert.equal(res.response.auth.token_ttl, 3600);

    // the hash is HMAC-SHA256 over the value, with a per-device key
    assert.match(broker.hash('file', SECRET), /^hmac-sha256:[0-9a-f]{64}$/);
    await rejects400(Promise.resolve().then(() => broker.hash('nope', SECRET)));
    await broker.close();
  });

  it('records errors and status of failed requests, headers hashed', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', '', { file_path: file });
    await broker.logResponse(
      kvResponse({ status: 403, error: 'permission denied', responseData: null, headers: { 'X-Forwarded-For': '10.0.0.1' } }),
    );
    const [res] = await readLines(file);
    assert.equal(res.status, 403);
    assert.equal(res.error, 'permission denied');
    assert.deepEqual(res.request.headers, { 'x-forwarded-for': [broker.hash('file', '10.0.0.1')] });
    await broker.close();
  });

  it('log_raw=true logs clear values', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'raw.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('raw', 'file', '', { file_path: file, log_raw: 'true' });
    await broker.logRequest(kvRequest());
    const [req] = await readLines(file);
    assert.equal(req.request.client_token, TOKEN);
    assert.equal(req.auth.accessor, ACCESSOR);
    assert.equal(req.request.data.data.password, SECRET);
    await broker.close();
  });

  it('hmac_accessor=false leaves the accessor clear but hashes the token', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'acc.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('acc', 'file', '', { file_path: file, hmac_accessor: 'false' });
    await broker.logRequest(kvRequest());
    const [req] = await readLines(file);
    assert.equal(req.auth.accessor, ACCESSOR);
    assert.equal(req.request.client_token_accessor, ACCESSOR);
    assert.equal(req.request.client_token, broker.hash('acc', TOKEN));
    assert.equal(req.request.data.data.password, broker.hash('acc', SECRET));
    await broker.close();
  });

  it('prefix and elide_list_responses', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'p.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('p', 'file', '', { file_path: file, prefix: 'AUDIT:', elide_list_responses: 'true' });
    await broker.logResponse(kvResponse({ operation: 'list', data: null, responseData: { keys: ['a', 'b', 'c'] } }));
    const lines = (await fsp.readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.ok(lines.every((l) => l.startsWith('AUDIT:{')), 'the test entry carries the prefix too');
    const res = JSON.parse(lines[lines.length - 1].slice('AUDIT:'.length));
    assert.equal(res.response.data.keys, 3);
    await broker.close();
  });

  it('creates the file with mode 0600 (or the given mode), appends to an existing file', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'sub', 'dir', 'audit.log'); // missing parents are created (like Vault)
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', '', { file_path: file });
    assert.equal((await fsp.stat(file)).mode & 0o777, 0o600);

    const other = path.join(dir, 'other.log');
    await fsp.writeFile(other, 'existing line\n', { mode: 0o644 });
    await broker.enable('other', 'file', '', { file_path: other, mode: '0640' });
    assert.equal((await fsp.stat(other)).mode & 0o777, 0o640);
    await broker.logRequest(kvRequest());
    const text = await fsp.readFile(other, 'utf8');
    assert.ok(text.startsWith('existing line\n{'));
    await broker.close();
  });

  it('enable rejects: unknown type, bad options, path conflicts, unopenable files', async () => {
    const dir = await freshDir();
    const broker = new AuditBroker(newStorage());
    await rejects400(broker.enable('sock', 'socket', '', { address: 'x' }), /type/);
    await rejects400(broker.enable('f', 'file', '', {}), /file_path is required/);
    await rejects400(broker.enable('f', 'file', '', { file_path: path.join(dir, 'a.log'), log_raw: 'maybe' }), /log_raw/);

    await broker.enable('f', 'file', '', { file_path: path.join(dir, 'a.log') });
    await rejects400(broker.enable('f/', 'file', '', { file_path: path.join(dir, 'b.log') }), /path already in use/);
    await rejects400(broker.enable('f/nested', 'file', '', { file_path: path.join(dir, 'b.log') }), /path already in use/);

    // a parent of the file path is a regular file: no directory can be created there, even as root
    const blocker = path.join(dir, 'blocker');
    await fsp.writeFile(blocker, 'not a directory');
    const bad = path.join(blocker, 'missing', 'audit.log');
    await rejects400(broker.enable('bad', 'file', '', { file_path: bad }), /audit device "bad\/" failed its test write/);
    // a missing directory where nobody (not even root) may create one
    if (await fsp.stat('/proc/self').then(() => true, () => false)) {
      await rejects400(broker.enable('bad', 'file', '', { file_path: '/proc/coffer-missing/sub/audit.log' }), /audit device "bad\/" failed its test write/);
    }
    // the file path is a directory
    await rejects400(broker.enable('bad', 'file', '', { file_path: dir }), /directory/);
    assert.deepEqual(Object.keys(broker.list()), ['f/']);
    await broker.close();
  });

  it('fails closed when the only device cannot write (file replaced by a directory)', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', '', { file_path: file });
    await broker.logRequest(kvRequest());

    await fsp.rm(file);
    await fsp.mkdir(file);
    await rejects500(broker.logRequest(kvRequest()));
    await rejects500(broker.logResponse(kvResponse()));

    // the parent directory replaced by a regular file
    await fsp.rm(dir, { recursive: true });
    await fsp.writeFile(dir, 'x');
    await rejects500(broker.logRequest(kvRequest()));
    await fsp.rm(dir);
    await broker.close();
  });

  it('a deleted (rotated) file is re-created at file_path', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', '', { file_path: file });
    await broker.logRequest(kvRequest());
    await fsp.rename(file, file + '.1');
    await broker.logRequest(kvRequest());
    assert.equal((await readLines(file)).length, 1);
    assert.equal((await readLines(file + '.1')).length, 1);
    assert.equal((await fsp.stat(file)).mode & 0o777, 0o600);
    await broker.reopen();
    await broker.logRequest(kvRequest());
    assert.equal((await readLines(file)).length, 2);
    await broker.close();
  });

  it('succeeds when at least one of two devices records the entry', async () => {
    const dir = await freshDir();
    const good = path.join(dir, 'good.log');
    const bad = path.join(dir, 'bad.log');
    const errors: string[] = [];
    const broker = new AuditBroker(newStorage(), { logger: { error: (m) => errors.push(m) } });
    await broker.enable('good', 'file', '', { file_path: good });
    await broker.enable('bad', 'file', '', { file_path: bad });
    await fsp.rm(bad);
    await fsp.mkdir(bad);
    await broker.logRequest(kvRequest());
    await broker.logResponse(kvResponse());
    assert.equal((await readLines(good)).length, 2);
    assert.ok(errors.length >= 2 && errors.every((m) => m.includes('"bad/"')));
    for (const m of errors) for (const form of [...forms(TOKEN), ...forms(SECRET)]) assert.ok(!m.includes(form));
    await broker.close();
  });

  it('disable removes a device; the discard sink', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const broker = new AuditBroker(newStorage());
    await broker.enable('file', 'file', '', { file_path: file });
    await broker.enable('null', 'file', '', { file_path: 'discard' });
    assert.equal(await broker.disable('file'), true);
    assert.equal(await broker.disable('file'), false);
    assert.deepEqual(Object.keys(broker.list()), ['null/']);
    await broker.logRequest(kvRequest()); // discard always succeeds
    assert.equal((await readLines(file)).length, 0);
    await rejects400(Promise.resolve().then(() => broker.hash('file', 'x')));
    await broker.close();
  });

  it('persists devices and salts: a second broker loads them and produces the same hashes', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const storage = newStorage();
    const first = new AuditBroker(storage);
    await first.enable('file', 'file', 'desc', { file_path: file }, true);
    await first.enable('other', 'file', '', { file_path: path.join(dir, 'other.log') });
    const h1 = first.hash('file', SECRET);
    assert.notEqual(h1, first.hash('other', SECRET)); // per-device salt
    await first.logRequest(kvRequest());
    await first.close();
    assert.equal(first.hasDevices(), false);

    // the stored table holds the salt, but never a clear secret
    const raw = JSON.stringify(await storage.getJSON('devices'));
    assert.ok(!raw.includes(SECRET));

    const second = new AuditBroker(storage);
    await second.load();
    assert.deepEqual(Object.keys(second.list()), ['file/', 'other/']);
    assert.deepEqual(second.list()['file/'], { type: 'file', description: 'desc', options: { file_path: file }, path: 'file/', local: true });
    assert.equal(second.hash('file', SECRET), h1);
    await second.logRequest(kvRequest());
    const lines = await readLines(file);
    assert.equal(lines.length, 2);
    assert.equal(lines[0].request.data.data.password, lines[1].request.data.data.password);
    assert.equal(lines[1].request.data.data.password, h1);
    await second.close();
  });

  it('load succeeds when no stored device can be opened: entries fail closed, the device can be disabled', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'audit.log');
    const storage = newStorage();
    const first = new AuditBroker(storage);
    await first.enable('file', 'file', '', { file_path: file });
    await first.close();
    await fsp.rm(file);
    await fsp.mkdir(file);
    const second = new AuditBroker(storage);
    await second.load();
    assert.equal(second.has('file'), true);
    await rejects500(second.logRequest(kvRequest()));
    assert.equal(await second.disable('file'), true);
    assert.equal(second.hasDevices(), false);
    await second.close();
  });

});
