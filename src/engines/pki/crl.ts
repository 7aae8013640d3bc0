/**
 * Revocation and the CRL.
 *
 * A revocation is stored durably, certificate by certificate: `revoked/<serial>` and, unless the CRL is built
 * only periodically (`auto_rebuild`) or disabled, `crl_pending/<serial>` in the same transaction. A CRL build
 * lists every revoked serial with its revocation time, carries the issuer's key identifier and a CRL number, is
 * signed by the issuing CA's key, is valid for `config/crl` `expiry` (72 h), and removes the pending markers it
 * covered in the same transaction that stores it. Builds never overlap and are coalesced (PkiContext.crlBuilds):
 *
 *   - `revoke` (the API) waits for a build that started after its record was written, so its answer is true
 *     of the CRL; concurrent revocations share builds.
 *   - a lease revocation (revoke-prefix, expiry, a revoked token) only asks for a build soon: a burst of
 *     thousands is served by a few builds, off the request path.
 *   - reading the CRL while a pending marker exists waits for a build first, so a CRL read after a revocation
 *     was acknowledged always lists it — even after a crash between the revocation and the build (the markers
 *     are stored).
 *   - with `auto_rebuild` the CRL is rebuilt only once it is within `auto_rebuild_grace_period` of its expiry
 *     (in the background when it is read then), when it has expired, on `crl/rotate` and on configuration
 *     changes; revocations reach it at that rebuild, as in Vault.
 *   - with `disable` the CRL is signed and empty; revocations are still recorded.
 */
import { KeyObject, sign, X509Certificate as NativeCertificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asnX509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { badRequest } from '../../sdk/errors.js';
import { timeSlices } from '../../shared/slices.js';
import type { StorageView } from '../../storage/view.js';
import { CRL, CRL_PENDING_PREFIX, type CrlConfig, type IssuingCa, type PkiContext, readCrlConfig, REVOKED_PREFIX, type RevokedRecord, seconds } from './backend.js';
import { colonSerial, serialKey } from './certutil.js';
import { signingAlgorithm } from './keys.js';

interface CrlRecord {
  der: string;
  number: number;
  /** ms since the epoch; a CRL read after this is rebuilt first. */
  next_update: number;
}

// ---- DER of the CRL ---------------------------------------------------------------------------------------
// The revoked list is DER-encoded here, not by @peculiar/x509's generic ASN.1 encoder: that takes about half a
// millisecond per entry, all of it synchronous, so a CRL of 2,000 entries held the event loop for a second.
// The rest of the CRL (version, algorithm, issuer, times, extensions) still comes from the library: it builds
// the CRL without entries, the entries go into its TBSCertList (RFC 5280, 5.1), which is then signed again.

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);

/** The DER elements inside a constructed element (one whose tag and length the caller has verified). */
function elements(der: Buffer): Buffer[] {
  const contentAt = (at: number) => (der[at + 1] & 0x80 ? at + 2 + (der[at + 1] & 0x7f) : at + 2);
  const lengthAt = (at: number) => (der[at + 1] & 0x80 ? der.subarray(at + 2, contentAt(at)).reduce((n, b) => n * 256 + b, 0) : der[at + 1]);
  const out: Buffer[] = [];
  for (let at = contentAt(0); at < der.length;) {
    const end = contentAt(at) + lengthAt(at);
    out.push(der.subarray(at, end));
    at = end;
  }
  return out;
}

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 requires. */
function derTime(date: Date): Buffer {
  const iso = date.toISOString().replace(/\.\d+/, '').replace(/[-:T]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/** A serial in hex (no leading zero bytes) as a DER INTEGER: positive, so a zero byte before a high bit. */
function derSerial(hex: string): Buffer {
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  return tlv(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

interface RevokedEntry {
  serialHex: string;
  revoked: Date;
}

async function signCrl(ca: IssuingCa, entries: RevokedEntry[], thisUpdate: Date, nextUpdate: Date, number: number): Promise<Buffer> {
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const alg = signingAlgorithm(ca.spec);
  const skeleton = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    nextUpdate,
    entries: [],
    signingKey: ca.key,
    signingAlgorithm: alg,
    extensions: [
      ...(ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId)] : []),
      new x509.Extension(asnX509.id_ce_cRLNumber, false, AsnConvert.serialize(new asnX509.CRLNumber(number))),
    ],
  });
  const [tbs, signatureAlgorithm] = elements(Buffer.from(skeleton.rawData));
  if (entries.length === 0) return Buffer.from(skeleton.rawData);
  // TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, [revokedCertificates], [0] crlExtensions.
  const fields = elements(tbs);
  const extensionsAt = fields.findIndex((f) => f[0] === 0xa0);
  const head = fields.slice(0, extensionsAt === -1 ? fields.length : extensionsAt);
  const tail = extensionsAt === -1 ? [] : fields.slice(extensionsAt);
  const list = tlv(0x30, Buffer.concat(entries.map((e) => tlv(0x30, Buffer.concat([derSerial(e.serialHex), derTime(e.revoked)])))));
  const signedPart = tlv(0x30, Buffer.concat([...head, list, ...tail]));
  const hash = 'hash' in alg && typeof alg.hash === 'string' ? alg.hash.replace('-', '').toLowerCase() : null;
  // Node's signer gives ECDSA signatures in DER, the form X.509 wants (WebCrypto's are r||s).
  const signature = sign(hash, signedPart, KeyObject.from(ca.key));
  return tlv(0x30, Buffer.concat([signedPart, signatureAlgorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

/** Builds, signs and stores a new CRL from the revoked entries. Runs only through ctx.crlBuilds (one at a time). */
async function build(ctx: PkiContext, storage: StorageView): Promise<void> {
  // The markers listed now are covered: their records were written with them, before this listing.
  const covered = await storage.list(CRL_PENDING_PREFIX);
  const dropCovered = covered.map((key) => ({ kind: 'delete' as const, key: CRL_PENDING_PREFIX + key }));
  const ca = await ctx.issuingCa(storage);
  if (!ca) {
    if (dropCovered.length) await storage.transaction(dropCovered);
    return;
  }
  const config = await readCrlConfig(storage);
  const entries: RevokedEntry[] = [];
  if (!config.disable) {
    const pause = timeSlices();
    for (const key of await storage.list(REVOKED_PREFIX)) {
      const record = await storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key);
      if (record && (!record.issuer_id || record.issuer_id === ca.bundle.issuer_id)) entries.push({ serialHex: key.replace(/-/g, ''), revoked: new Date(record.revocation_time * 1000) });
      await pause();
    }
  }
  if (config.max_crl_entries !== -1 && entries.length > config.max_crl_entries) {
    throw badRequest(`Error during CRL building: the CRL would list ${entries.length} revoked certificates, more than max_crl_entries `
      + `(${config.max_crl_entries}); raise max_crl_entries in config/crl, or remove expired entries with tidy`);
  }
  const number = ((await storage.getJSON<CrlRecord>(CRL))?.number ?? 0) + 1;
  const thisUpdate = new Date();
  const nextUpdate = new Date(thisUpdate.getTime() + seconds(config.expiry) * 1000);
  const der = await signCrl(ca, entries, thisUpdate, nextUpdate, number);
  const record: CrlRecord = { der: der.toString('base64'), number, next_update: nextUpdate.getTime() };
  await storage.transaction([{ kind: 'put', key: CRL, value: Buffer.from(JSON.stringify(record)) }, ...dropCovered]);
}

/** Builds the CRL now (after a build under way) and resolves once it is stored. */
export function rebuildCrl(ctx: PkiContext, storage: StorageView): Promise<void> {
  return ctx.crlBuilds.now(() => build(ctx, storage));
}

const hasPending = async (storage: StorageView) => (await storage.list(CRL_PENDING_PREFIX, { limit: 1 })).length > 0;

/**
 * The CRL to serve (DER): built first when a revocation is not on it yet, when none is stored or when it has
 * expired; null without a CA.
 */
export async function currentCrl(ctx: PkiContext, storage: StorageView): Promise<Buffer | null> {
  if (await hasPending(storage)) await rebuildCrl(ctx, storage);
  let stored = await storage.getJSON<CrlRecord>(CRL);
  if (!stored || stored.next_update <= Date.now()) {
    if (!(await ctx.issuingCa(storage))) return null;
    await rebuildCrl(ctx, storage);
    stored = await storage.getJSON<CrlRecord>(CRL);
  } else {
    const config = await readCrlConfig(storage);
    if (config.auto_rebuild && !config.disable && Date.now() >= stored.next_update - seconds(config.auto_rebuild_grace_period) * 1000) {
      ctx.crlBuilds.soon(() => build(ctx, storage));
    }
  }
  return stored ? Buffer.from(stored.der, 'base64') : null;
}

export interface RevocationResult {
  revocation_time: number;
  revocation_time_rfc3339: string;
  state: 'revoked';
}

/** How a revocation waits for the CRL: `now` (the revoke API) or `soon` (lease revocations, in bursts). */
export type CrlUpdate = 'now' | 'soon';

/** What the revoke API adds to its answer when the CRL does not list the certificate yet. */
export function revocationWarnings(config: CrlConfig): string[] {
  if (config.disable) return ['the CRL is disabled (config/crl disable=true): the revocation is recorded but the CRL stays empty'];
  if (config.auto_rebuild) {
    return ['auto_rebuild is enabled (config/crl): the CRL lists this certificate from its next rebuild, when it nears expiry '
      + `(auto_rebuild_grace_period ${config.auto_rebuild_grace_period}), or after crl/rotate`];
  }
  return [];
}

/**
 * Revokes the stored certificate `serial` (or `presented`, a certificate this CA signed that was not stored
 * because its role has no_store). Returns null for an expired certificate, which Vault does not put on the CRL.
 */
export async function revokeCertificate(
  ctx: PkiContext,
  storage: StorageView,
  serial: string,
  update: CrlUpdate,
  presented?: x509.X509Certificate,
): Promise<RevocationResult | null> {
  const key = serialKey(serial);
  if (!key) throw badRequest(`invalid serial number "${serial.slice(0, 80)}"`);
  const ca = await ctx.requireCa(storage);
  if (key === serialKey(ca.certificate.serialNumber)) throw badRequest('adding the issuer to its own CRL is not allowed');
  // One serial at a time, so two revocations of it keep the first revocation time; other serials go on in parallel.
  const written = await ctx.locks.run(REVOKED_PREFIX + key, async () => {
    const existing = await storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key);
    if (existing) return { record: existing, marked: false };
    const stored = await ctx.readCert(storage, key);
    const certPem = stored?.certificate ?? presented?.toString('pem');
    if (!certPem) throw badRequest(`certificate with serial ${colonSerial(key.replace(/-/g, ''))} not found.`);
    // Parsing a certificate is the largest cost of a revocation (thousands in a revoke-prefix): the stored
    // record knows its notAfter; older records and presented certificates go through Node's parser.
    const notAfter = stored?.not_after ?? Date.parse(new NativeCertificate(certPem).validTo);
    if (notAfter < Date.now()) return null;
    const now = new Date();
    const record: RevokedRecord = {
      serial_number: colonSerial(key.replace(/-/g, '')),
      certificate: certPem,
      revocation_time: Math.floor(now.getTime() / 1000),
      revocation_time_rfc3339: now.toISOString(),
      issuer_id: ca.bundle.issuer_id,
    };
    const config = await readCrlConfig(storage);
    const ops = [{ kind: 'put' as const, key: REVOKED_PREFIX + key, value: Buffer.from(JSON.stringify(record)) }];
    if (!config.auto_rebuild && !config.disable) ops.push({ kind: 'put', key: CRL_PENDING_PREFIX + key, value: Buffer.alloc(0) });
    await storage.transaction(ops);
    return { record, marked: ops.length > 1 };
  });
  if (!written) return null;
  if (written.marked) {
    if (update === 'now') await rebuildCrl(ctx, storage);
    else ctx.crlBuilds.soon(() => build(ctx, storage));
  } else if (update === 'now' && (await storage.get(CRL_PENDING_PREFIX + key))) {
    // Revoked before by a lease whose CRL build has not run yet: this answer, too, must be true of the CRL.
    await rebuildCrl(ctx, storage);
  }
  const { revocation_time, revocation_time_rfc3339 } = written.record;
  return { revocation_time, revocation_time_rfc3339, state: 'revoked' };
}

/** Drops `revoked/` entries (used by tidy) and rebuilds the CRL once. */
export async function removeRevoked(ctx: PkiContext, storage: StorageView, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await storage.transaction(keys.flatMap((key) => [
    { kind: 'delete' as const, key: REVOKED_PREFIX + key },
    { kind: 'delete' as const, key: CRL_PENDING_PREFIX + key },
  ]));
  await rebuildCrl(ctx, storage);
}
