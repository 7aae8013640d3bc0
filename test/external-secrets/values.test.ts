/** The ESO value shaping and the routes' failure path, in process. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreGateway } from '../../external-secrets/gateway.js';
import { esoRoutes } from '../../external-secrets/routes.js';
import { flatten, goJson, secretString, selectProperty } from '../../external-secrets/values.js';

describe('value shaping', () => {
  it('every scalar becomes the text it reads as', () => {
    assert.equal(secretString('a'), 'a');
    assert.equal(secretString(1.5), '1.5');
    assert.equal(secretString(-0.25), '-0.25');
    assert.equal(secretString(10), '10');
    assert.equal(secretString(true), 'true');
    assert.equal(secretString(null), '');
    assert.equal(secretString([1, 'x']), '[1,"x"]');
    assert.deepEqual(flatten({ a: { b: 1 }, c: 2 }), { a: '{"b":1}', c: '2' });
  });

  it('objects and arrays as Go\'s json.Marshal writes them: keys sorted as strings, HTML characters escaped', () => {
    assert.equal(goJson({ b: ['x'], a: 1 }), '{"a":1,"b":["x"]}');
    assert.equal(goJson({ 9: 'n', 10: 't', a: { d: null, c: [] } }), '{"10":"t","9":"n","a":{"c":[],"d":null}}');
    assert.equal(goJson(['<a & b>', '\u2028']), '["\\u003ca \\u0026 b\\u003e","\\u2028"]');
    assert.equal(secretString({ b: 2, a: 1 }), '{"a":1,"b":2}');
  });

  it('properties: exact key first, then a dotted path with escapes and array indices', () => {
    const data = { 'a.b': 'exact', a: { b: 'nested', 'c.d': 'escaped' }, list: [{ x: 1 }] };
    assert.equal(selectProperty(data, 'a.b'), 'exact');
    assert.equal(selectProperty(data, 'a.c\\.d'), 'escaped');
    assert.equal(selectProperty(data, 'list.0.x'), 1);
    assert.equal(selectProperty(data, 'list.1'), undefined);
    assert.equal(selectProperty(data, 'a.nope'), undefined);
    assert.equal(selectProperty(data, 'constructor'), undefined);
  });
});

describe('route failures', () => {
  it('an unexpected failure is a 500 "internal error", logged without data', async () => {
    const logged: string[] = [];
    const gateway: CoreGateway = {
      // A core answer as database/creds gives it; then the owner bookkeeping fails.
      handle: async () => ({ status: 200, body: { lease_id: 'database/creds/r/abc', lease_duration: 60, data: { username: 'u', password: 'pw-secret' } } }),
      storage: () => {
        throw new Error('storage exploded while handling pw-secret');
      },
      tokenId: (t) => `id-${t.length}`,
      revokeLater: async () => undefined,
      logError: (m) => logged.push(m),
    };
    const res = await esoRoutes(gateway).handle({
      method: 'POST',
      path: 'generate/database/creds/r',
      query: {},
      headers: { 'x-vault-token': 'cfs.sometoken', 'x-coffer-owner': 'team-a/app' },
      body: Buffer.alloc(0),
      remoteAddr: '',
    });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { errors: ['internal error'] });
    assert.deepEqual(logged, ['eso endpoint failed: Error']);
  });
});
