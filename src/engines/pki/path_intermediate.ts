/**
 * `intermediate/generate/:type` (a key kept pending and a CSR for it), `intermediate/set-signed` (the signed
 * certificate, alone or followed by its chain, must carry the pending key) and `config/ca` (import a PEM
 * bundle holding a CA certificate, its private key and optionally the chain above it).
 */
import { randomUUID } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import type { StorageView } from '../../storage/view.js';
import { PENDING_INTERMEDIATE, type PendingIntermediate, type PkiContext } from './backend.js';
import { isCa, parseCertificates, pemBlocks, pemOf, sanExtension, subjectName } from './certutil.js';
import { rebuildCrl } from './crl.js';
import { type CaGenerateBody, caGenerateFields, subjectOf } from './fields.js';
import { privateKeyOutput, readPrivateKey, signingAlgorithm } from './keys.js';
import { caGenerationRequest, newCaKey, refuseIfCa } from './path_root.js';

async function generateIntermediate(req: Request<CaGenerateBody>): Promise<Response> {
  const body = req.data;
  const { exported, format, sans } = await caGenerationRequest(req);
  const { keys, material } = await newCaKey(body);
  const extensions: x509.Extension[] = [];
  const san = sanExtension(sans);
  if (san) extensions.push(san);
  if (body.add_basic_constraints) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(subjectOf(body)),
    keys,
    signingAlgorithm: signingAlgorithm(material.spec),
    extensions,
  });
  const pending: PendingIntermediate = { private_key: material.pkcs8Pem, key_id: randomUUID() };
  await req.storage.putJSON(PENDING_INTERMEDIATE, pending);
  const csrText = format === 'der' ? Buffer.from(csr.rawData).toString('base64') : csr.toString('pem').trim();
  const data: Record<string, unknown> = { csr: csrText, key_id: pending.key_id };
  if (exported) {
    const key = privateKeyOutput(material, format, body.private_key_format ?? '');
    data.private_key = key;
    data.private_key_type = material.spec.type;
    if (format === 'pem_bundle') data.csr = `${key}\n${csrText}`;
  }
  return { data };
}

/**
 * Installs `certs[0]` (which must be a CA certificate whose public key is `keyPem`'s) with the rest as its
 * chain, and builds the first CRL. Answers as Vault's import paths do.
 */
async function installImported(ctx: PkiContext, storage: StorageView, certs: x509.X509Certificate[], keyPem: string, keyId?: string): Promise<Response> {
  const [cert, ...chain] = certs;
  if (!isCa(cert)) throw badRequest('the certificate is not a CA certificate (basic constraints CA:TRUE is missing)');
  const bundle = await ctx.installCa(storage, cert, keyPem, chain.map(pemOf), '', keyId);
  await rebuildCrl(ctx, storage);
  return {
    data: {
      imported_issuers: [bundle.issuer_id],
      imported_keys: keyId ? null : [bundle.key_id],
      mapping: { [bundle.issuer_id]: bundle.key_id },
      existing_issuers: null,
      existing_keys: null,
    },
  };
}

/** Orders certs so that the one holding `spki` comes first; a 400 when none does. */
function withKeyFirst(certs: x509.X509Certificate[], spki: Buffer, mismatch: string): x509.X509Certificate[] {
  const index = certs.findIndex((c) => Buffer.from(c.publicKey.rawData).equals(spki));
  if (index === -1) throw badRequest(mismatch);
  return [certs[index], ...certs.filter((_, i) => i !== index)];
}

async function setSigned(ctx: PkiContext, req: Request<{ certificate?: string }>): Promise<Response> {
  if (!req.data.certificate) throw badRequest('no certificate provided in the "certificate" parameter');
  const certs = parseCertificates(req.data.certificate, 'certificate');
  await refuseIfCa(req);
  const pending = await req.storage.getJSON<PendingIntermediate>(PENDING_INTERMEDIATE);
  if (!pending) throw badRequest('there is no pending intermediate key on this mount: run intermediate/generate first');
  const ordered = withKeyFirst(certs, readPrivateKey(pending.private_key).spki,
    'the certificate does not match the pending intermediate key: its public key is not the one intermediate/generate created');
  return installImported(ctx, req.storage, ordered, pending.private_key, pending.key_id);
}

async function configCa(ctx: PkiContext, req: Request<{ pem_bundle?: string }>): Promise<Response> {
  const text = req.data.pem_bundle;
  if (!text) throw badRequest('"pem_bundle" is empty: expected a CA certificate and its private key in PEM');
  const keys = pemBlocks(text).filter((b) => /PRIVATE KEY$/.test(b.type));
  if (keys.length !== 1) throw badRequest(`"pem_bundle" must hold exactly one private key, found ${keys.length}`);
  const key = readPrivateKey(keys[0].pem);
  const certs = parseCertificates(text, 'pem_bundle');
  await refuseIfCa(req);
  const ordered = withKeyFirst(certs, key.spki, 'no certificate in "pem_bundle" matches its private key');
  return installImported(ctx, req.storage, ordered, key.pkcs8Pem);
}

export function pathIntermediate(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'intermediate/generate/(?<type>\\w+)',
      fields: caGenerateFields,
      operations: { update: (req) => generateIntermediate(req) },
      help: 'Generates a key for an intermediate CA and returns a CSR for it (csr): common_name, key_type, '
        + 'key_bits, ou, organization, country. "exported" also returns the private key, once.',
    },
    {
      pattern: 'intermediate/set-signed',
      fields: z.object({ certificate: z.string().optional() }),
      operations: { update: (req) => setSigned(ctx, req) },
      help: 'Installs the signed intermediate certificate (certificate; a full chain is accepted) for the pending key.',
    },
    {
      pattern: 'config/ca',
      fields: z.object({ pem_bundle: z.string().optional() }),
      operations: { update: (req) => configCa(ctx, req) },
      help: 'Imports a CA: pem_bundle with the CA certificate, its private key and optionally its chain.',
    },
  ];
}
