/**
 * The one-time-password encoding of a generated root token, as Vault ≥ 1.10 does it: the OTP is a base62
 * string as long as the token, the token's bytes are XORed with the OTP's bytes and the result is sent as
 * base64 without padding. Only the holder of the OTP can turn the encoded token back into the token.
 */
import { randomInt } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random base62 string of `length` characters (uniform: randomInt has no modulo bias). */
export function randomBase62(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += BASE62[randomInt(BASE62.length)];
  return s;
}

function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new Error(`length of byte slices is not equivalent: ${a.length} != ${b.length}`);
  return Buffer.from(a.map((byte, i) => byte ^ b[i]));
}

export function encodeToken(token: string, otp: string): string {
  return xor(Buffer.from(token, 'latin1'), Buffer.from(otp, 'latin1')).toString('base64').replace(/=+$/, '');
}

/** The inverse of `encodeToken`; throws when the lengths do not match. A wrong OTP of the right length gives garbage. */
export function decodeToken(encoded: string, otp: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new Error('the encoded token is not base64');
  return xor(Buffer.from(encoded, 'base64'), Buffer.from(otp, 'latin1')).toString('latin1');
}
