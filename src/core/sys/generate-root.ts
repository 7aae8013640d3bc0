/**
 * `sys/generate-root/attempt` and `sys/generate-root/update`: a quorum of unseal key holders creates a new root
 * token, as in Vault. Like Vault these paths need no token (the key shares are the authority) but an unsealed
 * server. The token is returned only XORed with a one-time password (generated at start unless the caller
 * gave one): whoever reads the response without the OTP learns nothing. The OTP is kept in memory for the
 * attempt only; PGP encryption of the token is not supported.
 */
import { z } from 'zod';
import { bareJson, type PathSpec, type Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { ShareCollector } from '../shares.js';
import { TOKEN_LENGTH } from '../tokens/store.js';
import { encodeToken, randomBase62 } from '../../shared/otp.js';
import { decodeShare, initializedConfig } from './seal.js';

interface Attempt {
  shares: ShareCollector;
  otp: string;
}

const startFields = z.object({ otp: z.string().nullish(), pgp_key: z.string().nullish() });
const updateFields = z.object({ key: z.string().nullish(), nonce: z.string().nullish() });

export const KEY_REQUIRED = "'key' must be specified in request body as JSON";

/** The status body of Vault's `GenerateRootStatusResponse`. */
function status(fields: Partial<Record<string, unknown>>) {
  return {
    nonce: '',
    started: false,
    progress: 0,
    required: 0,
    complete: false,
    encoded_token: '',
    encoded_root_token: '',
    pgp_fingerprint: '',
    otp: '',
    otp_length: 0,
    ...fields,
  };
}

export function generateRootPaths(core: Core): PathSpec[] {
  let attempt: Attempt | null = null;
  const cancel = () => {
    attempt?.shares.reset();
    attempt = null;
  };
  core.seal.onLock(cancel);

  const threshold = async () => (await initializedConfig(core)).secret_threshold;

  const attemptStatus = async (otp = '') =>
    bareJson(
      status({
        nonce: attempt?.shares.nonce ?? '',
        started: attempt !== null,
        progress: attempt?.shares.progress ?? 0,
        required: await threshold(),
        otp,
        otp_length: TOKEN_LENGTH,
      }),
    );

  const start = async (req: Request<z.infer<typeof startFields>>) => {
    if (req.data.pgp_key) throw badRequest('pgp_key is not supported: coffer returns the root token encoded with an OTP only; leave pgp_key out');
    const given = req.data.otp ?? '';
    if (given && given.length !== TOKEN_LENGTH) throw badRequest('OTP string is wrong length');
    await threshold();
    if (attempt) throw badRequest('root generation already in progress');
    const otp = given || randomBase62(TOKEN_LENGTH);
    attempt = { otp, shares: new ShareCollector({ duplicate: 'given key has already been provided during this generation operation', combineFailed: 'failed to compute root key' }) };
    core.logger.info(`root generation initialized (nonce ${attempt.shares.nonce})`);
    // The OTP is shown once, in the answer to the start, and only when coffer made it.
    return attemptStatus(given ? '' : otp);
  };

  const update = async (req: Request<z.infer<typeof updateFields>>) => {
    if (!req.data.key) throw badRequest(KEY_REQUIRED);
    const share = decodeShare(req.data.key);
    const required = await threshold();
    const current = attempt;
    if (!current) throw badRequest('no root generation in progress');
    const nonce = req.data.nonce ?? '';
    if (nonce !== current.shares.nonce) {
      throw badRequest(`incorrect nonce supplied; nonce for this root generation operation is "${current.shares.nonce}"`);
    }
    const unsealKey = current.shares.add(share, required);
    if (!unsealKey) return bareJson(status({ nonce, started: true, progress: current.shares.progress, required }));

    const authentic = await core.seal.verifyUnsealKey(unsealKey).finally(() => unsealKey.fill(0));
    if (!authentic) {
      core.logger.error('root generation aborted: the combined key does not decrypt the root key');
      throw badRequest('root generation aborted: unable to authenticate: the combined key does not decrypt the root key');
    }
    if (attempt !== current) throw badRequest('root generation was canceled');
    const token = await core.createRootToken();
    if (token.length !== current.otp.length) throw new CofferError(500, 'the root token and the OTP differ in length');
    const encoded = encodeToken(token, current.otp);
    if (attempt === current) cancel();
    core.logger.info(`root generation finished (nonce ${nonce})`);
    return bareJson(status({ nonce, started: true, progress: required, required, complete: true, encoded_token: encoded, encoded_root_token: encoded }));
  };

  return [
    {
      pattern: 'generate-root/attempt',
      unauthenticated: true,
      fields: startFields,
      operations: {
        read: () => attemptStatus(),
        update: start,
        delete: async () => {
          cancel();
          return null;
        },
      },
    },
    { pattern: 'generate-root/update', unauthenticated: true, fields: updateFields, operations: { update } },
  ];
}
