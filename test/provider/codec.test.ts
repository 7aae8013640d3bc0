/** The value codec against byte sequences as cty writes them, the schema model, and the generated descriptor. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decode, encode, ExtData } from '@msgpack/msgpack';
import { CodecError, decodeDynamicValue, decodeJson, decodeMsgpack, Dynamic, encodeMsgpack, isWhollyKnown, UNKNOWN } from '../../provider/protocol/codec.js';
import { blockType, checkSchema, wireSchema, type BlockSpec, type CtyType } from '../../provider/protocol/schema.js';
import { descriptorSource, SOURCE_DIR } from '../../provider/protocol/build-descriptor.js';
import { selfSignedCert } from '../../provider/protocol/cert.js';
import { X509Certificate } from 'node:crypto';

const OBJ: CtyType = ['object', { a: 'string', n: 'number', b: 'bool', l: ['list', 'string'], m: ['map', 'number'], d: 'dynamic' }];

describe('msgpack codec', () => {
  it('writes unknown as cty does (fixext1 type 0) and reads any extension type as unknown', () => {
    assert.deepEqual([...encodeMsgpack(UNKNOWN, 'string')], [0xd4, 0x00, 0x00]);
    assert.equal(decodeMsgpack(Uint8Array.from([0xd4, 0x00, 0x00]), 'string'), UNKNOWN);
    // A refined unknown (ext 12, Terraform 1.6+) with a payload, inside a list.
    const refined = encode([new ExtData(12, Uint8Array.from([0x81, 0x01, 0xc3]))]);
    assert.deepEqual(decodeMsgpack(refined, ['list', 'string']), [UNKNOWN]);
  });

  it('writes objects with exactly the schema attributes, nil for the unset ones', () => {
    const bytes = encodeMsgpack({ a: 'x' }, OBJ);
    assert.deepEqual(decodeMsgpack(bytes, OBJ), { a: 'x', n: null, b: null, l: null, m: null, d: null });
    // The raw map carries every attribute key.
    const raw = decode(bytes) as Record<string, unknown>;
    assert.deepEqual(Object.keys(raw).sort(), ['a', 'b', 'd', 'l', 'm', 'n']);
    assert.equal(raw.n, null);
  });

  it('refuses attributes the schema does not have, naming them', () => {
    assert.throws(() => encodeMsgpack({ a: 'x', extra: 'y' }, OBJ), (e: unknown) => e instanceof CodecError && e.message.startsWith('extra:'));
    const bytes = encode({ a: 'x', extra: 1 });
    assert.throws(() => decodeMsgpack(bytes, OBJ), (e: unknown) => e instanceof CodecError && /extra: unsupported attribute/.test(e.message));
  });

  it('reads a missing attribute as null and type mismatches as errors with the path', () => {
    assert.deepEqual(decodeMsgpack(encode({ n: 3 }), OBJ), { a: null, n: 3, b: null, l: null, m: null, d: null });
    assert.throws(() => decodeMsgpack(encode({ l: ['ok', 5] }), OBJ), /l\[1\]: expected a string, got a number/);
  });

  it('encodes dynamic values as [type JSON bytes, value] and reads them back', () => {
    const value = new Dynamic(['object', { k: 'string', n: 'number' }], { k: 'v', n: 1.5 });
    const bytes = encodeMsgpack({ d: value }, OBJ);
    const back = decodeMsgpack(bytes, OBJ) as Record<string, unknown>;
    assert.ok(back.d instanceof Dynamic);
    assert.deepEqual((back.d as Dynamic).type, ['object', { k: 'string', n: 'number' }]);
    assert.deepEqual((back.d as Dynamic).value, { k: 'v', n: 1.5 });
    // Exactly as cty: the type as bin (0xc4) holding its JSON.
    const dynOnly = encodeMsgpack(new Dynamic('string', 'hi'), 'dynamic');
    assert.deepEqual([...dynOnly], [0x92, 0xc4, 0x08, ...Buffer.from('"string"'), 0xa2, ...Buffer.from('hi')]);
    // An unknown dynamic is a bare unknown, not wrapped.
    assert.deepEqual([...encodeMsgpack(UNKNOWN, 'dynamic')], [0xd4, 0, 0]);
    // A plain value written to a dynamic attribute gets its inferred type.
    const inferred = decodeMsgpack(encodeMsgpack(['a', 1], 'dynamic'), 'dynamic') as Dynamic;
    assert.deepEqual(inferred.type, ['tuple', ['string', 'number']]);
  });

  it('reads numbers cty writes as decimal strings, and sets and maps', () => {
    assert.equal(decodeMsgpack(encode('12345678901234567890'), 'number'), 12345678901234567890);
    assert.deepEqual(decodeMsgpack(encode(['a', 'b']), ['set', 'string']), ['a', 'b']);
    assert.deepEqual(decodeMsgpack(encode({ x: 1 }), ['map', 'number']), { x: 1 });
  });

  it('accepts JSON, with dynamic values as {value, type}', () => {
    const json = Buffer.from(JSON.stringify({ a: 'x', n: 2, d: { value: ['p'], type: ['list', 'string'] } }));
    const v = decodeJson(json, OBJ) as Record<string, unknown>;
    assert.equal(v.a, 'x');
    assert.equal(v.b, null);
    assert.deepEqual((v.d as Dynamic).value, ['p']);
    assert.deepEqual(decodeDynamicValue({ json }, OBJ), v);
    assert.equal(decodeDynamicValue({}, OBJ), null);
    assert.throws(() => decodeJson(Buffer.from('{'), OBJ), /not valid JSON/);
  });

  it('tells wholly known values from partly unknown ones', () => {
    assert.equal(isWhollyKnown({ a: 'x', l: ['y'] }), true);
    assert.equal(isWhollyKnown({ a: 'x', l: ['y', UNKNOWN] }), false);
    assert.equal(isWhollyKnown(new Dynamic('string', UNKNOWN)), false);
  });
});

describe('schema model', () => {
  const block: BlockSpec = {
    attributes: { name: { type: 'string', required: true, description: 'n' }, secret: { type: 'string', computed: true, sensitive: true, description: 's' } },
    blocks: { rule: { nesting: 'list', block: { attributes: { path: { type: 'string', required: true, description: 'p' } } } }, one: { nesting: 'single', block: { attributes: {} } } },
  };

  it('derives the cty type and the wire schema from one declaration', () => {
    assert.deepEqual(blockType(block), ['object', { name: 'string', secret: 'string', rule: ['list', ['object', { path: 'string' }]], one: ['object', {}] }]);
    const wire = wireSchema({ block }) as any;
    const secret = wire.block.attributes.find((a: any) => a.name === 'secret');
    assert.equal(Buffer.from(secret.type).toString(), '"string"');
    assert.equal(secret.sensitive, true);
    assert.equal(secret.computed, true);
    assert.equal(wire.block.block_types[0].nesting, 'LIST');
  });

  it('refuses inconsistent declarations', () => {
    assert.throws(() => checkSchema('x', { attributes: { a: { type: 'string', description: '' } } }), /x\.a: exactly one of required/);
    assert.throws(() => checkSchema('x', { attributes: { a: { type: 'string', required: true, optional: true, description: '' } } }), /exactly one/);
  });
});

describe('build artefacts', () => {
  it('the committed descriptor matches the .proto sources', () => {
    const committed = readFileSync(path.join(SOURCE_DIR, 'descriptor.generated.ts'), 'utf8');
    assert.equal(committed, descriptorSource(), 'run `npm run provider:descriptor`');
  });

  it('self-signed certificates are valid P-256 certificates for localhost, signed by their own key', () => {
    const c = selfSignedCert();
    const x = new X509Certificate(c.der);
    assert.equal(x.checkHost('localhost'), 'localhost');
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(new Date(x.validTo).getTime() > Date.now() + 86_400_000);
    assert.notEqual(selfSignedCert().certPem, c.certPem, 'a fresh key per call');
  });
});
