/**
 * Key types and keys: Vault's rules for `key_type`/`key_bits`, key generation through Node's WebCrypto (which
 * @peculiar/x509 signs with), and the PEM forms Vault returns (PKCS#1 for RSA, SEC 1 for EC, PKCS#8 for
 * Ed25519, or PKCS#8 for all with `private_key_format=pkcs8`).
 */
import { createPrivateKey, createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { badRequest } from '../../sdk/errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeyType = 'rsa' | 'ec' | 'ed25519';
export interface KeySpec {
  type: KeyType;
  /** RSA modulus bits, EC curve size (256/384/521), 0 for Ed25519. */
  bits: number;
}

const RSA_BITS = [2048, 3072, 4096];
const EC_BITS = [256, 384, 521];
const CURVE_BY_OPENSSL_NAME: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/**
 * Vault's ValidateKeyTypeLength with its defaults (key_bits 0: RSA 2048, EC P-256). `allowAny` admits the
 * role key type `any` (sign only). 8192-bit RSA and P-224, which Vault also takes, are refused: WebCrypto
 * cannot make P-224 keys and an 8192-bit key takes minutes to generate.
 */
export function checkKeySpec(type: string, bits: number, allowAny = false): { type: KeyType | 'any'; bits: number } {
  switch (type) {
    case 'rsa': {
      const b = bits || 2048;
      if (b < 2048) throw badRequest(`RSA keys < 2048 bits are unsafe and not supported: got ${b}`);
      if (!RSA_BITS.includes(b)) throw badRequest(`unsupported bit length for RSA key: ${b}`);
      return { type, bits: b };
    }
    case 'ec': {
      const b = bits || 256;
      if (!EC_BITS.includes(b)) throw badRequest(`unsupported bit length for EC key: ${b}`);
      return { type, bits: b };
    }
    case 'ed25519':
      return { type, bits: 0 };
    case 'any':
      if (allowAny) return { type, bits: 0 };
      break;
  }
  throw badRequest(`unknown key type ${String(type).slice(0, 40)}`);
}

/** The hash Vault pairs with a key: SHA-256 for RSA, the curve's size for EC (P-521 takes SHA-512). */
function hashFor(spec: KeySpec): string {
  if (spec.type === 'ec') return spec.bits === 384 ? 'SHA-384' : spec.bits === 521 ? 'SHA-512' : 'SHA-256';
  return 'SHA-256';
}

function keyAlgorithm(spec: KeySpec): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (spec.type) {
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    case 'ec':
      return { name: 'ECDSA', namedCurve: `P-${spec.bits}` };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

/** The signature algorithm a key of `spec` signs certificates, CSRs and CRLs with. */
export function signingAlgorithm(spec: KeySpec): Algorithm | EcdsaParams {
  switch (spec.type) {
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
    case 'ec':
      return { name: 'ECDSA', hash: hashFor(spec) };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

export async function generateKeyPair(spec: KeySpec): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithm(spec) as never, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function specOf(key: KeyObject): KeySpec | null {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { type: 'rsa', bits: details.modulusLength ?? 0 };
    case 'ec': {
      const bits = CURVE_BY_OPENSSL_NAME[details.namedCurve ?? ''];
      return bits ? { type: 'ec', bits } : null;
    }
    case 'ed25519':
      return { type: 'ed25519', bits: 0 };
    default:
      return null;
  }
}

/** Type and size of a public key (DER SubjectPublicKeyInfo); null for key types coffer does not handle. */
export function publicKeySpec(spki: ArrayBuffer | Buffer): KeySpec | null {
  try {
    return specOf(createPublicKey({ key: Buffer.from(spki as ArrayBuffer), format: 'der', type: 'spki' }));
  } catch {
    return null;
  }
}

export interface PrivateKeyMaterial {
  spec: KeySpec;
  /** PKCS#8 PEM: the only form stored. */
  pkcs8Pem: string;
  /** DER SubjectPublicKeyInfo, to match the key against certificates. */
  spki: Buffer;
}

/** Reads a private key in any PEM form Vault accepts (PKCS#1, SEC 1, PKCS#8). */
export function readPrivateKey(pem: string): PrivateKeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw badRequest('the private key could not be parsed');
  }
  const spec = specOf(key);
  if (!spec) throw badRequest(`unsupported private key type: ${key.asymmetricKeyType}`);
  return {
    spec,
    pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spki: createPublicKey(key).export({ type: 'spki', format: 'der' }),
  };
}

export async function exportKeyPair(keys: CryptoKeyPair, spec: KeySpec): Promise<PrivateKeyMaterial> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const pkcs8Pem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { spec, pkcs8Pem, spki };
}

/** WebCrypto signing key for a stored PKCS#8 key. */
export async function importSigningKey(material: PrivateKeyMaterial): Promise<CryptoKey> {
  const der = createPrivateKey(material.pkcs8Pem).export({ type: 'pkcs8', format: 'der' });
  const alg = keyAlgorithm(material.spec) as { name: string };
  const params = material.spec.type === 'rsa' ? { name: alg.name, hash: 'SHA-256' } : alg;
  return webcrypto.subtle.importKey('pkcs8', der, params as never, false, ['sign']) as Promise<CryptoKey>;
}

export type PrivateKeyFormat = 'der' | 'pem' | 'pkcs8';

/**
 * A private key as Vault's responses carry it: `format=der` gives base64 DER, otherwise PEM; PKCS#1 / SEC 1
 * unless `private_key_format=pkcs8` (Ed25519 has only PKCS#8).
 */
export function privateKeyOutput(material: PrivateKeyMaterial, format: 'pem' | 'der' | 'pem_bundle', keyFormat: string): string {
  const key = createPrivateKey(material.pkcs8Pem);
  const type = keyFormat === 'pkcs8' || material.spec.type === 'ed25519' ? 'pkcs8' : material.spec.type === 'rsa' ? 'pkcs1' : 'sec1';
  if (format === 'der') return (key.export({ type, format: 'der' } as never) as unknown as Buffer).toString('base64');
  return key.export({ type, format: 'pem' } as never).toString().trim();
}
