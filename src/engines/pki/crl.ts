/**
 * Revocation and the CRL. A revocation records the certificate under `revoked/<serial>` and rebuilds the CRL
 * at once (as Vault does by default); the CRL lists every revoked serial with its revocation time, carries
 * the issuer's key identifier and a CRL number, is signed by the issuing CA's key and is valid for 72 hours
 * (Vault's default `config/crl` expiry). Revocations and builds run one at a time per mount.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asnX509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { badRequest } from '../../core/errors.js';
import type { StorageView } from '../../storage/view.js';
import { CRL, type IssuingCa, type PkiContext, REVOKED_PREFIX, type RevokedRecord } from './backend.js';
import { colonSerial, serialKey } from './certutil.js';
import { signingAlgorithm } from './keys.js';

export const CRL_EXPIRY_SECONDS = 72 * 3600;
const CRL_LOCK = 'crl';

interface CrlRecord {
  der: string;
  number: number;
  /** ms since the epoch; a CRL read after this is rebuilt first (Vault rebuilds expiring CRLs periodically). */
  next_update: number;
}

/** Builds, signs and stores a new CRL from the revoked entries. The caller holds the CRL lock. */
async function rebuild(storage: StorageView, ca: IssuingCa): Promise<Buffer> {
  const previous = await storage.getJSON<CrlRecord>(CRL);
  const number = (previous?.number ?? 0) + 1;
  const entries: x509.X509CrlEntryParams[] = [];
  for (const key of await storage.list(REVOKED_PREFIX)) {
    const record = await storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key);
    if (record && (!record.issuer_id || record.issuer_id === ca.bundle.issuer_id)) entries.push({ serialNumber: key.replace(/-/g, ''), revocationDate: new Date(record.revocation_time * 1000) });
  }
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const now = new Date();
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + CRL_EXPIRY_SECONDS * 1000),
    entries,
    signingKey: ca.key,
    signingAlgorithm: signingAlgorithm(ca.spec),
    extensions: [
      ...(ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId)] : []),
      new x509.Extension(asnX509.id_ce_cRLNumber, false, AsnConvert.serialize(new asnX509.CRLNumber(number))),
    ],
  });
  const der = Buffer.from(crl.rawData);
  await storage.putJSON(CRL, { der: der.toString('base64'), number, next_update: crl.nextUpdate!.getTime() } satisfies CrlRecord);
  return der;
}

export function rebuildCrl(ctx: PkiContext, storage: StorageView, ca: IssuingCa): Promise<Buffer> {
  return ctx.locks.run(CRL_LOCK, () => rebuild(storage, ca));
}

/** The current CRL (DER), built first when none is stored yet or the stored one has expired; null without a CA. */
export async function currentCrl(ctx: PkiContext, storage: StorageView): Promise<Buffer | null> {
  const stored = await storage.getJSON<CrlRecord>(CRL);
  if (stored && stored.next_update > Date.now()) return Buffer.from(stored.der, 'base64');
  const ca = await ctx.issuingCa(storage);
  return ca ? rebuildCrl(ctx, storage, ca) : null;
}

export interface RevocationResult {
  revocation_time: number;
  revocation_time_rfc3339: string;
  state: 'revoked';
}

/**
 * Revokes the stored certificate `serial` (or `presented`, a certificate this CA signed that was not stored
 * because its role has no_store). Returns null for an expired certificate, which Vault does not put on the CRL.
 */
export async function revokeCertificate(
  ctx: PkiContext,
  storage: StorageView,
  serial: string,
  presented?: x509.X509Certificate,
): Promise<RevocationResult | null> {
  const key = serialKey(serial);
  if (!key) throw badRequest(`invalid serial number "${serial.slice(0, 80)}"`);
  const ca = await ctx.requireCa(storage);
  if (key === serialKey(ca.certificate.serialNumber)) throw badRequest('adding the issuer to its own CRL is not allowed');
  return ctx.locks.run(CRL_LOCK, async () => {
    const existing = await storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key);
    if (existing) return { revocation_time: existing.revocation_time, revocation_time_rfc3339: existing.revocation_time_rfc3339, state: 'revoked' };
    const record = await ctx.readCert(storage, key);
    const certPem = record?.certificate ?? presented?.toString('pem');
    if (!certPem) throw badRequest(`certificate with serial ${colonSerial(key.replace(/-/g, ''))} not found.`);
    const cert = new x509.X509Certificate(certPem);
    if (cert.notAfter.getTime() < Date.now()) return null;
    const now = new Date();
    const revoked: RevokedRecord = {
      serial_number: colonSerial(cert.serialNumber),
      certificate: certPem,
      revocation_time: Math.floor(now.getTime() / 1000),
      revocation_time_rfc3339: now.toISOString(),
      issuer_id: ca.bundle.issuer_id,
    };
    await storage.putJSON(REVOKED_PREFIX + key, revoked);
    await rebuild(storage, ca);
    return { revocation_time: revoked.revocation_time, revocation_time_rfc3339: revoked.revocation_time_rfc3339, state: 'revoked' };
  });
}

/** Drops `revoked/` entries (used by tidy) and rebuilds the CRL once. */
export async function removeRevoked(ctx: PkiContext, storage: StorageView, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await ctx.locks.run(CRL_LOCK, async () => {
    await storage.transaction(keys.map((key) => ({ kind: 'delete' as const, key: REVOKED_PREFIX + key })));
    const ca = await ctx.issuingCa(storage);
    if (ca) await rebuild(storage, ca);
  });
}
