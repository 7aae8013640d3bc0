/**
 * `config/crl`: how long a CRL is valid (`expiry`), whether it lists anything (`disable`), and when it is
 * rebuilt (`auto_rebuild`, `auto_rebuild_grace_period`), with Vault's fields, defaults, checks and answer.
 *
 * Fields of features coffer does not have are reported with Vault's defaults and refused when a write would
 * turn them on or change them, never stored and ignored: `enable_delta` and `delta_rebuild_interval` (no delta
 * CRLs), `ocsp_disable` (always true: there is no OCSP responder) and `ocsp_expiry`, and the Enterprise-only
 * `cross_cluster_revocation`, `unified_crl` and `unified_crl_on_existing_paths`.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { parseDuration } from '../../sdk/duration.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, int } from '../../sdk/fields.js';
import { type CrlConfig, CRL_CONFIG, type PkiContext, readCrlConfig, seconds } from './backend.js';
import { rebuildCrl } from './crl.js';

/** Vault's TypeString: a JSON number is taken as its decimal text. */
const durationText = () => z.union([z.string(), z.number().transform(String)]);

const crlFields = z.strictObject({
  expiry: durationText().optional(),
  disable: bool().optional(),
  ocsp_disable: bool().optional(),
  ocsp_expiry: durationText().optional(),
  auto_rebuild: bool().optional(),
  auto_rebuild_grace_period: durationText().optional(),
  enable_delta: bool().optional(),
  delta_rebuild_interval: durationText().optional(),
  cross_cluster_revocation: bool().optional(),
  unified_crl: bool().optional(),
  unified_crl_on_existing_paths: bool().optional(),
  max_crl_entries: int().optional(),
});
type CrlFields = z.infer<typeof crlFields>;

function checkedDuration(field: string, value: string): string {
  let parsed: number | undefined;
  try {
    parsed = parseDuration(value, field);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) throw badRequest(`given ${field} could not be decoded: "${value.slice(0, 40)}" is not a duration`);
  return value;
}

/** A setting of a feature coffer does not have: accepted only when it leaves the reported value as it is. */
function unchanged<K extends keyof CrlConfig>(config: CrlConfig, field: K, value: CrlConfig[K] | undefined, why: string): void {
  if (value === undefined) return;
  const same = typeof value === 'string' ? seconds(checkedDuration(field, value)) === seconds(String(config[field])) : value === config[field];
  if (!same) throw badRequest(`${field} cannot be set to ${JSON.stringify(value)}: ${why}`);
}

async function writeCrlConfig(ctx: PkiContext, req: Request<CrlFields>): Promise<Response> {
  const body = req.data;
  const old = await readCrlConfig(req.storage);
  const config: CrlConfig = { ...old };
  if (body.expiry !== undefined) config.expiry = checkedDuration('expiry', body.expiry);
  if (body.disable !== undefined) config.disable = body.disable;
  if (body.auto_rebuild !== undefined) config.auto_rebuild = body.auto_rebuild;
  if (body.auto_rebuild_grace_period !== undefined) config.auto_rebuild_grace_period = checkedDuration('auto_rebuild_grace_period', body.auto_rebuild_grace_period);
  if (body.max_crl_entries !== undefined) {
    if (body.max_crl_entries !== -1 && body.max_crl_entries < 1) throw badRequest('max_crl_entries must be a positive number, or -1 for no limit');
    config.max_crl_entries = body.max_crl_entries;
  }
  unchanged(config, 'enable_delta', body.enable_delta, 'coffer does not build delta CRLs; the complete CRL is rebuilt on revocation (or by auto_rebuild)');
  unchanged(config, 'delta_rebuild_interval', body.delta_rebuild_interval, 'coffer does not build delta CRLs');
  unchanged(config, 'ocsp_disable', body.ocsp_disable, 'coffer has no OCSP responder; use the CRL');
  unchanged(config, 'ocsp_expiry', body.ocsp_expiry, 'coffer has no OCSP responder; use the CRL');
  unchanged(config, 'cross_cluster_revocation', body.cross_cluster_revocation, 'cross-cluster revocation is a Vault Enterprise feature that coffer does not have');
  unchanged(config, 'unified_crl', body.unified_crl, 'unified CRLs are a Vault Enterprise feature that coffer does not have');
  unchanged(config, 'unified_crl_on_existing_paths', body.unified_crl_on_existing_paths, 'unified CRLs are a Vault Enterprise feature that coffer does not have');
  if (config.auto_rebuild && seconds(config.auto_rebuild_grace_period) >= seconds(config.expiry)) {
    throw badRequest(`CRL auto-rebuilding grace period (${config.auto_rebuild_grace_period}) must be strictly shorter than CRL expiry (${config.expiry}) value when auto-rebuilding of CRLs is enabled`);
  }
  await req.storage.putJSON(CRL_CONFIG, config);
  const warnings: string[] = [];
  // As in Vault: a CRL turned on or off, or no longer rebuilt only periodically, is rebuilt now.
  if (old.disable !== config.disable || (old.auto_rebuild && !config.auto_rebuild)) {
    const ca = await ctx.issuingCa(req.storage);
    if (ca) await rebuildCrl(ctx, req.storage);
    else warnings.push('no issuer is configured yet; the CRL is built when one is');
  }
  return { data: { ...config }, warnings };
}

export function pathConfigCrl(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'config/crl',
      fields: crlFields,
      operations: {
        read: async (req) => ({ data: { ...(await readCrlConfig(req.storage)) } }),
        update: (req) => writeCrlConfig(ctx, req),
      },
      help: 'The CRL configuration: expiry (default 72h), disable (an empty, signed CRL), auto_rebuild and '
        + 'auto_rebuild_grace_period (rebuild only when the CRL nears expiry, not on every revocation), '
        + 'max_crl_entries (default 100000, -1 for no limit). enable_delta, OCSP and Enterprise settings are '
        + 'refused: coffer builds no delta CRLs and has no OCSP responder.',
    },
  ];
}
