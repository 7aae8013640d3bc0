/**
 * Shamir's secret sharing over GF(2^8), byte-wise, as Vault does it: each share is the polynomial values for
 * every secret byte followed by one byte holding the share's x coordinate. Written here because the npm
 * packages for it are unmaintained or use a different share encoding; the arithmetic is small and is tested
 * against its defining property (any `threshold` shares reconstruct, fewer reveal nothing usable).
 */
import { randomBytes } from 'node:crypto';

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
(() => {
  // Generator 3 over the AES polynomial x^8 + x^4 + x^3 + x + 1.
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x ^= (x << 1) ^ (x & 0x80 ? 0x1b : 0);
    x &= 0xff;
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255];
})();

const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);
const div = (a: number, b: number) => {
  if (b === 0) throw new Error('division by zero');
  return a === 0 ? 0 : EXP[LOG[a] + 255 - LOG[b]];
};

export function split(secret: Buffer, shares: number, threshold: number): Buffer[] {
  if (threshold < 1 || shares < threshold || shares > 255) throw new Error('invalid share parameters');
  if (secret.length === 0) throw new Error('cannot split an empty secret');
  // Distinct random non-zero x coordinates.
  const xs: number[] = [];
  const pool = [...Array(255).keys()].map((i) => i + 1);
  const rnd = randomBytes(shares * 2);
  for (let i = 0; i < shares; i++) {
    const pick = ((rnd[2 * i] << 8) | rnd[2 * i + 1]) % pool.length;
    xs.push(pool.splice(pick, 1)[0]);
  }
  const out = xs.map((x) => {
    const share = Buffer.alloc(secret.length + 1);
    share[secret.length] = x;
    return share;
  });
  for (let b = 0; b < secret.length; b++) {
    const coeffs = randomBytes(threshold - 1);
    xs.forEach((x, i) => {
      // Horner evaluation of secret[b] + c1 x + c2 x^2 + ...
      let y = 0;
      for (let c = coeffs.length - 1; c >= 0; c--) y = mul(y ^ coeffs[c], x);
      out[i][b] = y ^ secret[b];
    });
  }
  return out;
}

export function combine(shares: Buffer[]): Buffer {
  if (shares.length < 1) throw new Error('no shares');
  const len = shares[0].length;
  if (len < 2 || shares.some((s) => s.length !== len)) throw new Error('shares have different lengths');
  const xs = shares.map((s) => s[len - 1]);
  if (new Set(xs).size !== xs.length) throw new Error('duplicate share');
  const secret = Buffer.alloc(len - 1);
  for (let b = 0; b < len - 1; b++) {
    // Lagrange interpolation at x = 0.
    let value = 0;
    for (let i = 0; i < shares.length; i++) {
      let basis = 1;
      for (let j = 0; j < shares.length; j++) {
        if (i !== j) basis = mul(basis, div(xs[j], xs[j] ^ xs[i]));
      }
      value ^= mul(shares[i][b], basis);
    }
    secret[b] = value;
  }
  return secret;
}
