/** Ephemeral `coffer_generic_secret`: reads any path; a leased answer is renewed and revoked with the run. */
import { genericSecretData } from '../data-sources/generic-secret.js';
import { leasedEphemeral } from './leased.js';

export const genericSecretEphemeral = leasedEphemeral(
  genericSecretData,
  'Reads any API path for the duration of the Terraform run; a lease it carries is revoked at the end. Nothing reaches plan or state.',
);
