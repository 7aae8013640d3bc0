/** `coffer auth enable|disable|list|tune`, like `vault auth`. */
import { inlineWording, runSubcommand } from '../args.js';
import { CONNECTION_HELP } from '../context.js';
import { AUTH, ENABLE_HELP, TUNE_HELP, mountSubcommands } from '../mounts.js';

export const help = `Usage: coffer auth <subcommand> [options] [args]

  Interacts with auth methods: enables, disables, lists and tunes them. The token method is always
  enabled at token/. (To log in, use "coffer login".)

Subcommands:
    enable     Enable an auth method (at TYPE/ unless -path is given)
    disable    Disable an auth method
    list       List enabled auth methods
    tune       Tune an auth method's configuration

coffer auth enable [options] TYPE
  TYPE is kubernetes, jwt (or oidc, the same method) or approle.
  $ coffer auth enable -path=gitlab -description="GitLab pipelines" jwt
  Success! Enabled jwt auth method at: gitlab/

${ENABLE_HELP.replace('(kv: 1 or 2)', '(where supported)')}

coffer auth disable PATH
  $ coffer auth disable gitlab/
  Success! Disabled the auth method (if it existed) at: gitlab/

coffer auth list [-detailed]
  $ coffer auth list
  $ coffer auth list -detailed
  $ coffer auth list -format=json

  -detailed                Also print TTLs, token type, options, replication and UUIDs.
  -format=FORMAT           table (default), json or yaml.

coffer auth tune [options] PATH
  $ coffer auth tune -default-lease-ttl=1h -max-lease-ttl=8h token/
  Success! Tuned the auth method at: token/

${TUNE_HELP}

${CONNECTION_HELP}`;

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, mountSubcommands(AUTH), inlineWording('auth'));
}
