/** The OTP encoding of generated root tokens: byte-wise XOR then base64 without padding, as Vault ≥ 1.10. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeToken, encodeToken, randomBase62 } from '../../src/shared/otp.js';

// Expected values computed independently (Python: base64 of the XORed bytes, padding stripped).
test('encodes as Vault does: XOR of the bytes, base64 without padding', () => {
  assert.equal(encodeToken('someToken1', 'ABCDEFGHIJ'), 'Mi0uIREpLC0new');
  assert.equal(encodeToken('cfs.abcdefghijklmnopqrstuvwxyz012345', 'Zz9Yx8Ww7Vv6Uu5Tt4Ss3Rr2Qq1Pp0OoNnMm'), 'ORxKdxlaNBNSMBFePB9eOBlaPANCIAFGJAdGKAlKf158XXlY');
  assert.equal(decodeToken('Mi0uIREpLC0new', 'ABCDEFGHIJ'), 'someToken1');
  assert.equal(decodeToken('Mi0uIREpLC0new==', 'ABCDEFGHIJ'), 'someToken1', 'padding is accepted too');
});

test('a length mismatch is an error, a wrong OTP of the right length gives something else', () => {
  assert.throws(() => encodeToken('someToken', 'ABC'), /length of byte slices is not equivalent: 9 != 3/);
  assert.throws(() => decodeToken('Mi0uIREpLC0new', 'ABC'), /length of byte slices is not equivalent: 10 != 3/);
  assert.throws(() => decodeToken('not base64!', 'ABCDEFGHIJK'), /not base64/);
  assert.notEqual(decodeToken('Mi0uIREpLC0new', 'ABCDEFGHIK'), 'someToken1');
});

test('randomBase62 draws from the 62 characters only, at the length asked', () => {
  const otp = randomBase62(2000);
  assert.equal(otp.length, 2000);
  assert.match(otp, /^[A-Za-z0-9]+$/);
  assert.equal(new Set(otp).size, 62, 'every character appears in 2000 draws');
});
