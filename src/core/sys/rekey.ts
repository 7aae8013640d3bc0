/**
 * `sys/rekey/init`, `sys/rekey/update` and `sys/rekey/verify`: a quorum of unseal key holders replaces the
 * unseal key (and with it the number of shares and the threshold), as in Vault. No token is needed (the key
 * shares are the authority) but the server must be unsealed. With `require_verification` the new shares are
 * handed out first and take effect only once a threshold of them is given back to `sys/rekey/verify`; until
 * then the old shares stay valid. PGP-encrypted shares and their backup are not supported.
 */
import { z } from 'zod';
import { bareJson, type PathSpec, type Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, int } from '../../sdk/fields.js';
import { checkShareConfig, type SealConfig } from '../seal.js';
import { ShareCollector, sameBytes } from '../shares.js';
import { KEY_REQUIRED } from './generate-root.js';
import { decodeShare, initializedConfig } from './seal.js';

interface Verification {
  /** The new unseal key, held until its shares are proven (never stored before that). */
  key: Buffer;
  shares: ShareCollector;
}

interface Rekey {
  config: SealConfig;
  verificationRequired: boolean;
  shares: ShareCollector;
  verification: Verification | null;
}

const initFields = z.object({
  secret_shares: int().nullish(),
  secret_threshold: int().nullish(),
  pgp_keys: z.unknown().optional(),
  backup: bool().nullish(),
  require_verification: bool().nullish(),
  stored_shares: int().nullish(),
});
const updateFields = z.object({ key: z.string().nullish(), nonce: z.string().nullish() });
type UpdateRequest = Request<z.infer<typeof updateFields>>;

const hasPgpKeys = (v: unknown) => (Array.isArray(v) ? v.length > 0 : typeof v === 'string' ? v !== '' : v != null);

/** Vault's start checks, in its order; the message names what is wrong. */
function rekeyConfig(data: z.infer<typeof initFields>): SealConfig {
  if (data.backup) throw badRequest('cannot request a backup of the new keys without providing PGP keys for encryption');
  if (hasPgpKeys(data.pgp_keys)) throw badRequest('pgp_keys is not supported: coffer returns the new key shares unencrypted only; leave pgp_keys out');
  const config = { secret_shares: data.secret_shares ?? 0, secret_threshold: data.secret_threshold ?? 0 };
  if (config.secret_threshold > config.secret_shares) throw badRequest('provided threshold greater than the total shares');
  try {
    checkShareConfig(config.secret_shares, config.secret_threshold);
  } catch (e) {
    throw badRequest(`invalid rekey seal configuration: ${(e as Error).message}`);
  }
  return config;
}

const keysBody = (keys: Buffer[]) => ({ keys: keys.map((k) => k.toString('hex')), keys_base64: keys.map((k) => k.toString('base64')) });

/** The key of an update or verify request (hex or base64), or Vault's 400 when there is none. */
function submittedKey(req: UpdateRequest): Buffer {
  if (!req.data.key) throw badRequest(KEY_REQUIRED);
  return decodeShare(req.data.key);
}

export function rekeyPaths(core: Core): PathSpec[] {
  let rekey: Rekey | null = null;
  const cancel = () => {
    rekey?.shares.reset();
    rekey?.verification?.shares.reset();
    rekey?.verification?.key.fill(0);
    rekey = null;
  };
  core.seal.onLock(cancel);

  const currentConfig = () => initializedConfig(core);

  const initStatus = async () => {
    const required = (await currentConfig()).secret_threshold;
    return bareJson({
      nonce: rekey?.shares.nonce ?? '',
      started: rekey !== null,
      t: rekey?.config.secret_threshold ?? 0,
      n: rekey?.config.secret_shares ?? 0,
      progress: rekey?.shares.progress ?? 0,
      required,
      pgp_fingerprints: null,
      backup: false,
      verification_required: rekey?.verificationRequired ?? false,
      ...(rekey?.verification ? { verification_nonce: rekey.verification.shares.nonce } : {}),
    });
  };

  const verifyStatus = async () => {
    await currentConfig();
    if (!rekey) throw badRequest('no rekey configuration found');
    return bareJson({
      nonce: rekey.verification?.shares.nonce ?? '',
      started: rekey.verification !== null,
      t: rekey.config.secret_threshold,
      n: rekey.config.secret_shares,
      progress: rekey.verification?.shares.progress ?? 0,
    });
  };

  const start = async (req: Request<z.infer<typeof initFields>>) => {
    const config = rekeyConfig(req.data);
    await currentConfig();
    if (rekey) throw badRequest('rekey already in progress');
    rekey = {
      config,
      verificationRequired: req.data.require_verification === true,
      shares: new ShareCollector({ duplicate: 'given key has already been provided during this generation operation', combineFailed: 'failed to compute root key' }),
      verification: null,
    };
    core.logger.info(`rekey initialized (nonce ${rekey.shares.nonce}, shares ${config.secret_shares}, threshold ${config.secret_threshold})`);
    return initStatus();
  };

  /** Puts the new unseal key in force and ends the operation (unless it was canceled while shares were checked). */
  const commit = async (current: Rekey, key: Buffer) => {
    if (rekey !== current) throw badRequest('rekey was canceled');
    await core.seal.rekey(key, current.config);
    if (rekey === current) cancel();
    core.logger.info(`security barrier rekeyed (shares ${current.config.secret_shares}, threshold ${current.config.secret_threshold})`);
  };

  const update = async (req: UpdateRequest) => {
    const share = submittedKey(req);
    const required = (await currentConfig()).secret_threshold;
    const current = rekey;
    if (!current) throw badRequest('no barrier rekey in progress');
    if (current.verification) {
      throw badRequest(`rekey operation already finished; verification must be performed; nonce for the verification operation is "${current.verification.shares.nonce}"`);
    }
    const nonce = req.data.nonce ?? '';
    if (nonce !== current.shares.nonce) throw badRequest(`incorrect nonce supplied; nonce for this rekey operation is "${current.shares.nonce}"`);
    const unsealKey = current.shares.add(share, required);
    if (!unsealKey) return initStatus();

    const authentic = await core.seal.verifyUnsealKey(unsealKey).finally(() => unsealKey.fill(0));
    if (!authentic) {
      core.logger.error('rekey aborted: the combined key does not decrypt the root key');
      throw badRequest('root key verification failed: the combined key does not decrypt the root key');
    }
    if (rekey !== current) throw badRequest('rekey was canceled');
    const fresh = core.seal.newUnsealKey(current.config);
    const result = { nonce, complete: true, ...keysBody(fresh.shares), pgp_fingerprints: null, backup: false, verification_required: current.verificationRequired };
    fresh.shares.forEach((s) => s.fill(0));
    if (current.verificationRequired) {
      current.verification = {
        key: fresh.key,
        shares: new ShareCollector({ duplicate: 'given key has already been provided during this verify operation', combineFailed: 'failed to compute key for verification' }),
      };
      return bareJson({ ...result, verification_nonce: current.verification.shares.nonce });
    }
    await commit(current, fresh.key).finally(() => fresh.key.fill(0));
    return bareJson(result);
  };

  const verify = async (req: UpdateRequest) => {
    const share = submittedKey(req);
    await currentConfig();
    const current = rekey;
    if (!current) throw badRequest('no rekey in progress');
    const verification = current.verification;
    if (!verification) throw badRequest('no rekey verification in progress');
    const nonce = req.data.nonce ?? '';
    if (nonce !== verification.shares.nonce) {
      throw badRequest(`incorrect nonce supplied; nonce for this verify operation is "${verification.shares.nonce}"`);
    }
    const threshold = current.config.secret_threshold;
    const combining = verification.shares.progress + 1 >= threshold;
    let key: Buffer | null;
    try {
      key = verification.shares.add(share, threshold);
    } catch (e) {
      if (combining) verification.shares.reset(true); // as for wrong shares below: a failed round gets a new nonce
      throw e;
    }
    if (!key) return verifyStatus();
    const proven = sameBytes(key, verification.key);
    key.fill(0);
    if (!proven) {
      verification.shares.reset(true);
      throw badRequest('rekey verification failed; incorrect key shares supplied');
    }
    await commit(current, verification.key);
    return bareJson({ nonce, complete: true });
  };

  return [
    {
      pattern: 'rekey/init',
      unauthenticated: true,
      fields: initFields,
      operations: {
        read: initStatus,
        update: start,
        delete: async () => {
          cancel();
          return null;
        },
      },
    },
    { pattern: 'rekey/update', unauthenticated: true, fields: updateFields, operations: { update } },
    {
      pattern: 'rekey/verify',
      unauthenticated: true,
      fields: updateFields,
      operations: {
        read: verifyStatus,
        update: verify,
        delete: async () => {
          rekey?.verification?.shares.reset(true);
          return verifyStatus();
        },
      },
    },
  ];
}
