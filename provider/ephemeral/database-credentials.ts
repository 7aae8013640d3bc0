/** Ephemeral `coffer_database_credentials`: a database user that exists while Terraform runs, revoked at close. */
import { databaseCredentialsData } from '../data-sources/database-credentials.js';
import { leasedEphemeral } from './leased.js';

export const databaseCredentialsEphemeral = leasedEphemeral(
  databaseCredentialsData,
  'Issues database credentials from a role for the duration of the Terraform run and revokes them at its end; they reach neither plan nor state.',
);
