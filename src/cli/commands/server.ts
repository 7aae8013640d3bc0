/** `coffer server -config=FILE` and `coffer server -dev`. */
import { parseFlags } from '../../shared/flags.js';

export const help = `Usage: coffer server [options]

  Starts a coffer server. With -config it reads a configuration file in Vault's shape (HCL or JSON);
  the server starts sealed and must be initialised (operator init) and unsealed (operator unseal).
  With -dev it starts an in-memory, initialised and unsealed server with secret/ as KV version 2,
  prints the root token and stores it in the token helper (~/.coffer-token), so later coffer commands
  are authenticated. Never use dev mode in production.

  Every listener serves Vault's API under /v1/ and the External Secrets Operator endpoints under
  /eso/v1/ (kv/<mount> for ESO's webhook store and PushSecret, generate/<path> for its Webhook
  generator); see external-secrets/manifests/ for the stores that use them.

Options:
  -config=FILE                Path to a configuration file (HCL or .json).
  -dev                        Start in dev mode.
  -dev-root-token-id=TOKEN    Root token to use in dev mode (default: random).
  -dev-listen-address=ADDR    Address to listen on in dev mode (default: 127.0.0.1:8200).
  -dev-no-store-token         Do not store the root token in the token helper; only print it.
  -log-level=LEVEL            trace, debug, info, warn or error (default: info).

Examples:
  $ coffer server -dev -dev-root-token-id=root
  $ coffer server -config=/etc/coffer/coffer.hcl
`;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseFlags(argv, [
    { name: 'config', kind: 'string' },
    { name: 'dev', kind: 'bool' },
    { name: 'dev-root-token-id', kind: 'string' },
    { name: 'dev-listen-address', kind: 'string' },
    { name: 'dev-no-store-token', kind: 'bool' },
    { name: 'log-level', kind: 'string' },
  ]);
  if (positional.length) {
    process.stderr.write(`unexpected argument "${positional[0]}"\n\n${help}`);
    return 1;
  }
  const { startServer, devConfig } = await import('../../server/server.js');
  const { loadConfig, ConfigError, describeStorage } = await import('../../server/config.js');
  const dev = flags.dev === true;
  if (!dev && typeof flags.config !== 'string') {
    process.stderr.write(`Error: either -config or -dev is required\n\n${help}`);
    return 1;
  }
  let config;
  try {
    config = dev
      ? devConfig({ rootTokenId: flags['dev-root-token-id'] as string | undefined, listenAddress: flags['dev-listen-address'] as string | undefined })
      : await loadConfig(flags.config as string);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Error loading configuration: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (typeof flags['log-level'] === 'string') config.logLevel = flags['log-level'];

  let server;
  try {
    server = await startServer(config, dev ? { rootTokenId: flags['dev-root-token-id'] as string | undefined, listenAddress: flags['dev-listen-address'] as string | undefined } : undefined);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`Error starting server: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}\n`);
    return 1;
  }

  // The banner tells the user the CLI is already authenticated, so (as vault server -dev does) make it so.
  if (dev && server.rootToken && flags['dev-no-store-token'] !== true) {
    const { writeTokenHelper } = await import('../../client/env.js');
    try {
      writeTokenHelper(server.rootToken);
    } catch (err) {
      process.stderr.write(`Error storing root token in the token helper: ${(err as Error).message}\n`);
    }
  }

  const out = process.stdout;
  out.write(`==> coffer server configuration:\n\n`);
  out.write(`             Storage: ${config.storage.type}${dev ? ' (in memory)' : ` (${describeStorage(config.storage)})`}\n`);
  server.addresses.forEach((a) => out.write(`            Listener: ${a}\n`));
  out.write(`             Version: coffer ${server.core.version}\n\n`);
  if (dev) {
    out.write(`WARNING! dev mode is enabled! In this mode, coffer runs entirely in-memory\n`);
    out.write(`and starts unsealed with a single unseal key. The root token is already\n`);
    out.write(`authenticated to the CLI, so you can immediately begin using coffer.\n\n`);
    out.write(`You may need to set the following environment variables:\n\n`);
    out.write(`    $ export COFFER_ADDR='${server.addresses[0]}'\n    $ export VAULT_ADDR='${server.addresses[0]}'\n\n`);
    out.write(`The unseal key and root token are displayed below in case you want to\nseal/unseal the server or re-authenticate.\n\n`);
    out.write(`Unseal Key: ${server.unsealKey}\nRoot Token: ${server.rootToken}\n\n`);
    out.write(`Development mode should NOT be used in production installations!\n\n`);
  }
  out.write(`==> coffer server started! Log data will stream in below:\n\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`==> ${signal} received, shutting down\n`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
