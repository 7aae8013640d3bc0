/**
 * The `coffer` provider: its configuration block (named as in the hashicorp/vault provider), how it connects
 * and authenticates, and the list of its data sources and ephemeral resources.
 */
import { z } from 'zod';
import { CofferClient, CofferConnectionError, optionsFromEnv } from '../src/client/index.js';
import type { ObjectValue } from './protocol/codec.js';
import { DiagnosticsError, error, type ProviderDefinition } from './protocol/types.js';
import { describeFailure, unreachable } from './errors.js';
import { addressProblem, checkEnvAddress, checkServer, DEFAULT_STARTUP_TIMEOUT_SECONDS, STARTUP_TIMEOUT_ENV, startupTimeoutSeconds } from './startup.js';
import { Session } from './session.js';
import { declare } from './declaration.js';
import { validateKnown, zodDiagnostics } from './values.js';
import { genericSecretData } from './data-sources/generic-secret.js';
import { kvSecretV2Data } from './data-sources/kv-secret-v2.js';
import { kvSecretsListV2 } from './data-sources/kv-secrets-list-v2.js';
import { databaseCredentialsData } from './data-sources/database-credentials.js';
import { policyDocument } from './data-sources/policy-document.js';
import { databaseCredentialsEphemeral } from './ephemeral/database-credentials.js';
import { kvSecretV2Ephemeral } from './ephemeral/kv-secret-v2.js';
import { genericSecretEphemeral } from './ephemeral/generic-secret.js';
import { tokenEphemeral } from './ephemeral/token.js';
import { pkiCertificateEphemeral } from './ephemeral/pki-certificate.js';
import { mountResource } from './resources/mount.js';
import { policyResource } from './resources/policy.js';
import { kvSecretV2Resource } from './resources/kv-secret-v2.js';
import { databaseConnectionResource } from './resources/database-connection.js';
import { databaseRoleResource } from './resources/database-role.js';
import { authBackendResource } from './resources/auth-backend.js';
import { kubernetesAuthBackendRoleResource } from './resources/kubernetes-auth-backend-role.js';
import { tokenResource } from './resources/token.js';

export const DEFAULT_MAX_LEASE_TTL_SECONDS = 1200;

const authLogin = declare({
  description: 'Log in through an auth method instead of giving a token.',
  attributes: {
    path: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'Login path, e.g. auth/approle/login.' },
    parameters: {
      type: ['map', 'string'],
      optional: true,
      sensitive: true,
      check: z.record(z.string(), z.string()),
      description: 'Login parameters, e.g. role_id and secret_id.',
    },
  },
});

const declared = declare({
  description: 'coffer, a secrets service speaking the Vault HTTP API.',
  attributes: {
    address: {
      type: 'string',
      optional: true,
      check: z.string().superRefine((address, ctx) => {
        const problem = addressProblem(address);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      description: 'URL of the coffer server, e.g. https://coffer.example:8200. Defaults to COFFER_ADDR, then VAULT_ADDR.',
    },
    token: {
      type: 'string',
      optional: true,
      sensitive: true,
      check: z.string().min(1, 'must not be empty'),
      description: 'Token to authenticate with. Defaults to COFFER_TOKEN, then VAULT_TOKEN, then ~/.coffer-token.',
    },
    ca_cert_file: {
      type: 'string',
      optional: true,
      check: z.string().min(1, 'must not be empty'),
      description: 'PEM file of the CA that signed the server certificate. Defaults to COFFER_CACERT / VAULT_CACERT.',
    },
    skip_tls_verify: {
      type: 'bool',
      optional: true,
      check: z.boolean(),
      description: 'Do not verify the server certificate (testing only). Defaults to COFFER_SKIP_VERIFY / VAULT_SKIP_VERIFY.',
    },
    max_lease_ttl_seconds: {
      type: 'number',
      optional: true,
      check: z.number().int('must be a whole number of seconds').positive('must be positive'),
      description: `TTL of the child token the provider runs with, in seconds (default ${DEFAULT_MAX_LEASE_TTL_SECONDS}).`,
    },
    startup_timeout_seconds: {
      type: 'number',
      optional: true,
      check: z.number().positive('must be positive'),
      description: `How long the start-up check waits for the server to answer, in seconds (default ${DEFAULT_STARTUP_TIMEOUT_SECONDS}; else ${STARTUP_TIMEOUT_ENV}). Later calls wait longer.`,
    },
    skip_child_token: {
      type: 'bool',
      optional: true,
      check: z.boolean(),
      description: 'Use the given token directly instead of a child token (then dynamic secrets read by data sources outlive the run).',
    },
  },
  blocks: {
    auth_login: { nesting: 'list', maxItems: 1, block: authLogin, check: z.array(authLogin.config).max(1) },
  },
});
const configSchema = declared.config;

export function cofferProvider(env: NodeJS.ProcessEnv, log: (line: string) => void): ProviderDefinition<Session> {
  let session: Session | null = null;

  async function configure(raw: ObjectValue): Promise<Session> {
    const parsed = configSchema.safeParse(raw);
    if (!parsed.success) throw new DiagnosticsError(zodDiagnostics(parsed.error));
    const config = parsed.data;
    const fromEnv = optionsFromEnv(env);
    const address = config.address ?? fromEnv.address;
    if (!address) {
      throw new DiagnosticsError(error('no coffer server address', 'Set `address` in the provider block, or COFFER_ADDR (or VAULT_ADDR) in the environment.', ['address']));
    }
    if (!config.address) checkEnvAddress(address, env.COFFER_ADDR ? 'COFFER_ADDR' : 'VAULT_ADDR');
    const startupTimeout = startupTimeoutSeconds(config.startup_timeout_seconds, env);
    const login = config.auth_login[0];
    const token = config.token ?? fromEnv.token;
    if (!token && !login) {
      throw new DiagnosticsError(error('no coffer token', 'Set `token` or an `auth_login` block in the provider block, or COFFER_TOKEN (or VAULT_TOKEN) in the environment.', ['token']));
    }
    let client: CofferClient;
    try {
      client = new CofferClient({
        ...fromEnv,
        address,
        token: token ?? undefined,
        caCertFile: config.ca_cert_file ?? fromEnv.caCertFile,
        skipVerify: config.skip_tls_verify ?? fromEnv.skipVerify,
      });
    } catch (err) {
      throw new DiagnosticsError(error('cannot read the CA certificate', err instanceof Error ? err.message : String(err), ['ca_cert_file']));
    }
    const ctx = { address: client.address, policies: async () => null };
    await checkServer(client, startupTimeout);

    if (login) {
      try {
        const res = await client.write(login.path, login.parameters ?? {});
        if (!res?.auth?.client_token) throw new DiagnosticsError(error(`login at ${login.path} returned no token`, undefined, ['auth_login', 0, 'path']));
        client = client.withToken(res.auth.client_token);
      } catch (err) {
        throw await describeFailure(err, { op: 'create', path: login.path }, ctx, ['auth_login', 0, 'path']);
      }
    }

    let policies: string[] | null;
    try {
      const self = await client.read<{ policies?: string[] }>('auth/token/lookup-self');
      policies = self?.data?.policies ?? null;
    } catch (err) {
      if (err instanceof CofferConnectionError) throw unreachable(err);
      const status = (err as { status?: number }).status;
      if (status === 403) {
        throw new DiagnosticsError(
          error(`the token was not accepted by the coffer server at ${client.address}`, 'It may be expired, revoked or mistyped: check `token` or COFFER_TOKEN.', ['token']),
        );
      }
      throw await describeFailure(err, { op: 'read', path: 'auth/token/lookup-self' }, ctx, ['token']);
    }

    let child = null;
    if (!config.skip_child_token) {
      const ttlSeconds = config.max_lease_ttl_seconds ?? DEFAULT_MAX_LEASE_TTL_SECONDS;
      try {
        const res = await client.write('auth/token/create', { ttl: `${ttlSeconds}s`, display_name: 'terraform', renewable: true });
        if (!res?.auth?.client_token) throw new Error('auth/token/create returned no token');
        client = client.withToken(res.auth.client_token);
        child = { ttlSeconds: res.auth.lease_duration || ttlSeconds };
      } catch (err) {
        const why = 'The provider runs with a child token of the given one; set skip_child_token = true to use the given token directly.';
        throw await describeFailure(err, { op: 'create', path: 'auth/token/create', capability: 'update' }, { ...ctx, policies: async () => policies }, ['token'], why);
      }
    }
    session = new Session(client, client.address, policies, child, log);
    return session;
  }

  return {
    schema: declared.schema,
    validate: (c) => validateKnown(configSchema, c),
    configure,
    dataSources: [genericSecretData, kvSecretV2Data, kvSecretsListV2, databaseCredentialsData, policyDocument],
    ephemeralResources: [databaseCredentialsEphemeral, kvSecretV2Ephemeral, genericSecretEphemeral, tokenEphemeral, pkiCertificateEphemeral],
    resources: [mountResource, policyResource, kvSecretV2Resource, databaseConnectionResource, databaseRoleResource, authBackendResource, kubernetesAuthBackendRoleResource, tokenResource],
    async stop() {
      session?.stop();
    },
    async shutdown() {
      await session?.close();
    },
  };
}
