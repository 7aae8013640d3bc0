/** Ephemeral `coffer_kv_secret_v2`: a KV v2 secret read for the run only (no lease to renew or revoke). */
import { kvSecretV2Data } from '../data-sources/kv-secret-v2.js';
import { leasedEphemeral } from './leased.js';

export const kvSecretV2Ephemeral = leasedEphemeral(
  kvSecretV2Data,
  'Reads a KV version 2 secret for the duration of the Terraform run; its values reach neither plan nor state.',
);
