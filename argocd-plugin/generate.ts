/**
 * `coffer-argocd-plugin generate PATH|-` (also `coffer argocd generate`): reads manifests, fills in their
 * placeholders from the server and prints them, as argocd-vault-plugin 1.18 does, with three differences:
 *
 * - each distinct (path, version) is read once per run, READ_CONCURRENCY reads at a time (AVP reads once per
 *   placeholder, one after another);
 * - nothing is printed unless every document rendered (AVP prints the documents before the failing one, and an
 *   Argo CD application with pruning may then delete what is missing);
 * - every problem of the run is reported, each naming its file, document and placeholder, never a value.
 *
 * Exit code 0 on success, 1 on any failure (message on stderr, nothing on stdout).
 */
import { homedir } from 'node:os';
import { CofferClient } from '../src/client/client.js';
import { CofferConnectionError } from '../src/client/errors.js';
import { UsageError, parseFlags } from '../src/shared/flags.js';
import { AuthError, Session, loginFor } from './auth.js';
import { ConfigError, loadConfig, mergedSettings, readConfigFile } from './config.js';
import { InputError, type Manifest, listFiles, parseManifests, readManifestFile } from './input.js';
import { printStream } from './output.js';
import { type EngineOptions, planReads, renderManifest } from './placeholders.js';
import { FatalReadError, type ReadAnswer, SecretFetcher, fetchWithSession, lookupFrom } from './secrets.js';
import { TokenCache } from './token-cache.js';

export const help = `Usage: coffer-argocd-plugin generate [options] PATH|-
       coffer argocd generate [options] PATH|-

  Replaces the placeholders in Kubernetes manifests with secrets from coffer (or any server speaking the
  Vault API), as argocd-vault-plugin does, and prints the manifests. PATH is a directory (read recursively,
  .yaml/.yml/.json files in lexical order) or one file; "-" reads standard input:

      $ coffer-argocd-plugin generate ./manifests
      $ helm template my-app . | coffer-argocd-plugin generate -
      $ kustomize build . | coffer-argocd-plugin generate -

  Placeholders: <key> in manifests annotated avp.kubernetes.io/path (or coffer.dev/path), and <path:P#key> or
  <path:P#key#version> anywhere. Modifiers after "|": base64encode, base64decode, jsonPath {TEMPLATE},
  jsonParse, yamlParse, indent N, sha256sum, and default VALUE (used when the value is missing).
  Annotations (avp.kubernetes.io/ or coffer.dev/): path, ignore, kv-version, secret-version, remove-missing.

  Nothing is printed unless every document rendered; every problem is reported on stderr and the exit code is 1.

Options:
  -c, --config-path=FILE       Settings file (YAML, JSON or KEY=VALUE lines); the environment overrides it.
  --disable-token-cache        Do not reuse or store login tokens (approle, k8s) in ~/.coffer-argocd/tokens.
  --verbose-sensitive-output   Accepted for AVP compatibility; coffer prints counts only, never values.
  -s, --secret-name=NAME       Not supported (AVP reads settings from a Kubernetes Secret): use -c or the environment.

Settings (environment, ARGOCD_ENV_NAME overriding NAME):
  VAULT_ADDR / COFFER_ADDR      Server address.      VAULT_TOKEN / COFFER_TOKEN   Token (AVP_AUTH_TYPE=token).
  AVP_TYPE=vault                AVP_AUTH_TYPE=token|approle|k8s (default token).
  AVP_ROLE_ID, AVP_SECRET_ID    AppRole login, at AVP_MOUNT_PATH (default auth/approle).
  AVP_K8S_ROLE                  Kubernetes login, at AVP_K8S_MOUNT_PATH (default auth/kubernetes), with the
                                token file AVP_K8S_TOKEN_PATH (default /var/run/secrets/kubernetes.io/serviceaccount/token).
  AVP_KV_VERSION=1|2            KV version of paths without the kv-version annotation (default 2: kv/data/x).
  AVP_PATH_VALIDATION=REGEX     Refuse paths that do not match.
  VAULT_CACERT, VAULT_SKIP_VERIFY, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY (or COFFER_*): TLS.
`;

export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  stdout: (s: string) => Promise<void>;
  stderr: (s: string) => void;
}

/** A failure of the run: the lines to print. */
class RunFailure extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

const FLAGS = [
  { name: 'c', kind: 'string' as const },
  { name: 'config-path', kind: 'string' as const },
  { name: 's', kind: 'string' as const },
  { name: 'secret-name', kind: 'string' as const },
  { name: 'disable-token-cache', kind: 'bool' as const },
  { name: 'verbose-sensitive-output', kind: 'bool' as const },
];

/** `generate ARGS...`; resolves with the exit code. */
export async function runGenerate(argv: string[], io: Io): Promise<number> {
  try {
    const { flags, positional } = parseFlags(argv, FLAGS);
    if (positional.length !== 1) throw new UsageError('<path> argument required to generate manifests');
    if (flags.s !== undefined || flags['secret-name'] !== undefined) {
      throw new ConfigError('--secret-name is not supported: give the settings with -c FILE or in the environment');
    }
    const configPath = (flags['config-path'] ?? flags.c) as string | undefined;
    const settings = mergedSettings(io.env, configPath ? readConfigFile(configPath) : {});
    const config = loadConfig(settings, { disableTokenCache: flags['disable-token-cache'] === true, home: io.env.HOME || homedir() });
    const engine: EngineOptions = { kvVersion: config.kvVersion, pathValidation: config.pathValidation };
    const base = new CofferClient(config.client);
    const session = new Session(base, loginFor(config.auth, base.address), config.tokenCacheDir ? new TokenCache(config.tokenCacheDir) : undefined);
    // Reads start as soon as each file is parsed (the session logs in at the first one), while the next files
    // are being read.
    const fetcher = new SecretFetcher(() => session.client());
    const manifests = await readInput(positional[0], io, (ms) => fetcher.add(planReads(ms, engine)));
    const answers = fetcher.reads().length > 0 ? await fetchWithSession(session, fetcher) : new Map<string, ReadAnswer>();
    if (flags['verbose-sensitive-output']) io.stderr(`read ${fetcher.reads().length} secret path(s) for ${manifests.length} manifest(s)\n`);

    const lookup = lookupFrom(answers);
    const rendered = manifests.map((m) => renderManifest(m, engine, lookup));
    const errors = rendered.flatMap((r) => r.errors);
    if (errors.length) throw new RunFailure(errors);
    await io.stdout(printStream(rendered.map((r) => r.value)));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`Error: ${err.message}\n\n${help}`);
      return 1;
    }
    const lines =
      err instanceof RunFailure
        ? err.lines
        : err instanceof InputError || err instanceof ConfigError || err instanceof AuthError || err instanceof FatalReadError || err instanceof CofferConnectionError
          ? [err.message]
          : null;
    if (!lines) {
      // Unexpected: say so without a stack trace (and without any value).
      io.stderr(`Error: unexpected failure: ${(err as Error)?.name ?? 'error'}\n`);
      return 1;
    }
    io.stderr(lines.length === 1 ? `Error: ${lines[0]}\nNothing was written.\n` : `Error: ${lines.length} problems, nothing was written:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    return 1;
  }
}

/** Reads and parses the input, handing each file's manifests to `parsed` as soon as they are read. */
async function readInput(target: string, io: Io, parsed: (ms: Manifest[]) => void): Promise<Manifest[]> {
  let manifests: Manifest[];
  if (target === '-') {
    manifests = parseManifests(await readAll(io.stdin), 'stdin');
    parsed(manifests);
  } else {
    const files = listFiles(target);
    if (files.length === 0) throw new InputError(`no YAML or JSON files were found in ${target}`);
    const problems: string[] = [];
    manifests = [];
    for (const f of files) {
      try {
        const ms = readManifestFile(f);
        manifests.push(...ms);
        if (problems.length === 0) parsed(ms);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        problems.push(err.message);
      }
      // Let the requests already started make progress.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (problems.length) throw new RunFailure(problems);
  }
  if (manifests.length === 0) throw new InputError(`no manifests were found in ${target === '-' ? 'stdin' : target}`);
  return manifests;
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', (e) => reject(new InputError(`cannot read stdin: ${e.message}`)));
  });
}

/** The plugin's command line: `generate ...`, `--help`, `version`. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || ['-h', '-help', '--help', 'help'].includes(cmd)) {
    await io.stdout(help);
    return cmd ? 0 : 1;
  }
  if (cmd === 'version') {
    await io.stdout('coffer-argocd-plugin (argocd-vault-plugin 1.18 compatible)\n');
    return 0;
  }
  if (cmd !== 'generate') {
    io.stderr(`Error: unknown command "${cmd}"\n\n${help}`);
    return 1;
  }
  if (rest.some((a) => ['-h', '-help', '--help'].includes(a))) {
    await io.stdout(help);
    return 0;
  }
  return runGenerate(rest, io);
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: (s) => new Promise((resolve, reject) => process.stdout.write(s, (e) => (e ? reject(e) : resolve()))),
    stderr: (s) => void process.stderr.write(s),
  };
}
