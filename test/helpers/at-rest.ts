/** The at-rest check: stored bytes (database files, table rows) never hold a secret in any common encoding. */
import assert from 'node:assert/strict';

/** A secret as plain text, base64, hex and base64 of its JSON string. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [secret, bytes.toString('base64'), bytes.toString('hex'), Buffer.from(JSON.stringify(secret)).toString('base64')];
}

/** Fails naming the blob (never the secret) when any of `secrets` appears in any blob, case-insensitively. */
export function assertNoSecretAtRest(blobs: { name: string; bytes: Buffer }[], secrets: string[]): void {
  assert.ok(blobs.length > 0, 'nothing to check');
  const needles = secrets.flatMap(encodings);
  for (const { name, bytes } of blobs) {
    const lower = bytes.toString('latin1').toLowerCase();
    needles.forEach((n, i) => {
      assert.equal(bytes.includes(Buffer.from(n)), false, `${name} contains secret #${Math.floor(i / 4)} (encoding #${i % 4})`);
      assert.equal(lower.includes(n.toLowerCase()), false, `${name} contains secret #${Math.floor(i / 4)} (encoding #${i % 4}, any case)`);
    });
  }
}
