/**
 * State shared by the PKI engine's path families: the stored records, the issuing CA (parsed and its signing
 * key imported once per stored version), the certificate store, per-key locks and the mount's CRL builds
 * (one at a time, coalesced: see crl.ts).
 *
 * Storage layout inside the mount's view (encrypted underneath by the barrier):
 *   config/ca_bundle             CaBundle: the CA certificate, its private key (PKCS#8) and the chain above it
 *   config/pending_intermediate  PendingIntermediate: key made by intermediate/generate, until set-signed
 *   config/urls                  Urls (AIA and CRL distribution points put into issued certificates)
 *   role/<name>                  RoleEntry
 *   certs/<serial>               CertRecord (serial with dashes, as Vault stores it)
 *   revoked/<serial>             RevokedRecord
 *   config/crl                   CrlConfig
 *   crl                          CrlRecord (the current CRL, DER)
 *   crl_pending/<serial>         revocations not yet on the stored CRL (empty values)
 *
 * The CA's private key never leaves this storage except in the one response of `root/generate/exported` or
 * `intermediate/generate/exported` that created it.
 */
import { randomUUID } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Request } from '../../sdk/backend.js';
import { parseDuration } from '../../sdk/duration.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { CoalescedWork } from '../../shared/coalesced.js';
import { KeyedMutex } from '../../shared/mutex.js';
import type { StorageView } from '../../storage/view.js';
import { colonSerial, pemOf, serialKey, type Signer, type Urls } from './certutil.js';
import { importSigningKey, type KeySpec, readPrivateKey } from './keys.js';
import type { RoleEntry } from './path_roles.js';

export const CA_BUNDLE = 'config/ca_bundle';
export const PENDING_INTERMEDIATE = 'config/pending_intermediate';
export const URLS = 'config/urls';
export const ROLE_PREFIX = 'role/';
export const CERTS_PREFIX = 'certs/';
export const REVOKED_PREFIX = 'revoked/';
export const CRL = 'crl';
export const CRL_CONFIG = 'config/crl';
/** `crl_pending/<serial>`: revoked, not yet on the stored CRL (written with the revocation, removed by the build). */
export const CRL_PENDING_PREFIX = 'crl_pending/';


export interface CaBundle {
  certificate: string;
  private_key: string;
  /** The certificates above this CA, nearest first (empty for a root). */
  ca_chain: string[];
  serial_number: string;
  issuer_id: string;
  issuer_name: string;
  key_id: string;
}

export interface PendingIntermediate {
  private_key: string;
  key_id: string;
}

export interface CertRecord {
  certificate: string;
  /** notAfter in ms since the epoch, so that revoking needs no parse (absent in records of older versions). */
  not_after?: number;
}

export interface RevokedRecord {
  serial_number: string;
  certificate: string;
  revocation_time: number;
  revocation_time_rfc3339: string;
  /** The CA that issued the certificate: only its own revocations go on a CA's CRL (after DELETE root). */
  issuer_id: string;
}

/** The issuing CA ready to sign. */
export interface IssuingCa extends Signer {
  certificate: x509.X509Certificate;
  bundle: CaBundle;
  /** PEM of the CA followed by the chain above it. */
  chain: string[];
}

export interface CrlConfig {
  expiry: string;
  disable: boolean;
  ocsp_disable: boolean;
  ocsp_expiry: string;
  auto_rebuild: boolean;
  auto_rebuild_grace_period: string;
  enable_delta: boolean;
  delta_rebuild_interval: string;
  cross_cluster_revocation: boolean;
  unified_crl: boolean;
  unified_crl_on_existing_paths: boolean;
  /** -1: no limit. */
  max_crl_entries: number;
}

export const DEFAULT_CRL_CONFIG: Readonly<CrlConfig> = Object.freeze({
  expiry: '72h',
  disable: false,
  ocsp_disable: true,
  ocsp_expiry: '12h',
  auto_rebuild: false,
  auto_rebuild_grace_period: '12h',
  enable_delta: false,
  delta_rebuild_interval: '15m',
  cross_cluster_revocation: false,
  unified_crl: false,
  unified_crl_on_existing_paths: false,
  max_crl_entries: 100_000,
});

export async function readCrlConfig(storage: StorageView): Promise<CrlConfig> {
  return { ...DEFAULT_CRL_CONFIG, ...((await storage.getJSON<Partial<CrlConfig>>(CRL_CONFIG)) ?? {}) };
}

/** Seconds of a stored duration (validated when it was written). */
export const seconds = (value: string): number => parseDuration(value) ?? 0;

export const CA_EXISTS = 'a CA is already configured on this mount; coffer keeps one issuer per mount: '
  + 'delete it with DELETE <mount>/root first, or enable another mount';

export const emptyUrls = (): Urls => ({ issuing_certificates: [], crl_distribution_points: [], ocsp_servers: [] });

/** Lease revocations come in bursts (revoke-prefix, a token's leases): one CRL build per quiet 50 ms, at least one a second. */
const CRL_BUILD_QUIET_MS = 50;
const CRL_BUILD_MAX_DELAY_MS = 1000;

export class PkiContext {
  readonly locks = new KeyedMutex();
  readonly crlBuilds = new CoalescedWork({ quietMs: CRL_BUILD_QUIET_MS, maxDelayMs: CRL_BUILD_MAX_DELAY_MS });
  /** The parsed CA for the stored bundle text it came from (re-parsed only when the bundle changes). */
  private cached: { text: string; ca: Promise<IssuingCa> } | null = null;

  async readBundle(storage: StorageView): Promise<CaBundle | null> {
    return storage.getJSON<CaBundle>(CA_BUNDLE);
  }

  async issuingCa(storage: StorageView): Promise<IssuingCa | null> {
    const text = await storage.getText(CA_BUNDLE);
    if (!text) return null;
    if (this.cached?.text !== text) {
      const bundle = JSON.parse(text) as CaBundle;
      const ca = (async (): Promise<IssuingCa> => {
        const material = readPrivateKey(bundle.private_key);
        const certificate = new x509.X509Certificate(bundle.certificate);
        return { certificate, key: await importSigningKey(material), spec: material.spec, bundle, chain: [bundle.certificate, ...bundle.ca_chain] };
      })();
      this.cached = { text, ca };
    }
    return this.cached.ca;
  }

  async requireCa(storage: StorageView): Promise<IssuingCa> {
    const ca = await this.issuingCa(storage);
    if (!ca) throw badRequest('no default issuer currently configured: generate a root, set a signed intermediate or import a CA bundle first');
    return ca;
  }

  /** Installs a CA (refusing to replace one) and records its certificate in the store. */
  async installCa(storage: StorageView, cert: x509.X509Certificate, privateKeyPem: string, chain: string[], issuerName: string, keyId?: string): Promise<CaBundle> {
    return this.locks.run(CA_BUNDLE, async () => {
      if (await storage.get(CA_BUNDLE)) throw badRequest(CA_EXISTS);
      const bundle: CaBundle = {
        certificate: pemOf(cert),
        private_key: privateKeyPem,
        ca_chain: chain,
        serial_number: colonSerial(cert.serialNumber),
        issuer_id: randomUUID(),
        issuer_name: issuerName,
        key_id: keyId ?? randomUUID(),
      };
      await storage.transaction([
        { kind: 'put', key: CA_BUNDLE, value: Buffer.from(JSON.stringify(bundle)) },
        { kind: 'delete', key: PENDING_INTERMEDIATE },
        { kind: 'put', key: CERTS_PREFIX + serialKey(cert.serialNumber), value: Buffer.from(JSON.stringify({ certificate: bundle.certificate })) },
      ]);
      return bundle;
    });
  }

  async readUrls(storage: StorageView): Promise<Urls> {
    return { ...emptyUrls(), ...((await storage.getJSON<Urls>(URLS)) ?? {}) };
  }

  readRole(storage: StorageView, name: string): Promise<RoleEntry | null> {
    return storage.getJSON<RoleEntry>(ROLE_PREFIX + name);
  }

  async storeCert(storage: StorageView, cert: x509.X509Certificate): Promise<void> {
    await storage.putJSON(CERTS_PREFIX + serialKey(cert.serialNumber), { certificate: pemOf(cert), not_after: cert.notAfter.getTime() } satisfies CertRecord);
  }

  async readCert(storage: StorageView, serial: string): Promise<CertRecord | null> {
    const key = serialKey(serial);
    return key ? storage.getJSON<CertRecord>(CERTS_PREFIX + key) : null;
  }

  async readRevoked(storage: StorageView, serial: string): Promise<RevokedRecord | null> {
    const key = serialKey(serial);
    return key ? storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key) : null;
  }
}

/** The key spec of the stored CA key, for responses that describe it. */
export function describeKey(spec: KeySpec): { key_type: string; key_bits: number } {
  return { key_type: spec.type, key_bits: spec.type === 'ed25519' ? 0 : spec.bits };
}

/** A 404 with no errors (Vault's "nothing here"). */
export const nothing = () => new CofferError(404, []);

/** `format`, validated as Vault does. */
export function outputFormat(req: Request<{ format?: string }>): 'pem' | 'der' | 'pem_bundle' {
  const f = req.data.format ?? 'pem';
  if (f === 'pem' || f === 'der' || f === 'pem_bundle') return f;
  throw badRequest(`unknown format "${String(f).slice(0, 20)}": expected "pem", "der" or "pem_bundle"`);
}
