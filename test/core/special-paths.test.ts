/**
 * Root-protected (sudo) and unauthenticated paths are declared on the path declarations only. This lists what
 * the core's backends (sys, token) and PKI declare and compares it, both ways, with the paths Vault documents as
 * root-protected (https://developer.hashicorp.com/vault/docs/concepts/policies#root-protected-api-endpoints) and
 * as callable without a token (the `PathsSpecial.Unauthenticated` of Vault's sys backend, plus the sys paths
 * Vault serves while sealed) that coffer implements.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, PathSpec } from '../../src/sdk/backend.js';
import { Core } from '../../src/core/core.js';
import { matchPath } from '../../src/core/router.js';
import { tokenBackend } from '../../src/core/tokens/backend.js';
import { pkiFactory } from '../../src/engines/pki/index.js';
import { cubbyholeFactory } from '../../src/engines/cubbyhole/index.js';
import { secretEngines } from '../../src/engines/index.js';
import { authMethods } from '../../src/auth/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';

const core = new Core({ storage: new MemoryStorage(), storageType: 'inmem', secretEngines, authMethods, cubbyhole: cubbyholeFactory });
const backends: Record<string, Backend> = {
  'sys/': core.sys,
  'auth/token/': tokenBackend(core.tokens),
  'pki/': pkiFactory.create({}),
};

/** Vault's documented paths (a `*` stands for any rest of path), each with a concrete path coffer serves. */
const VAULT_ROOT_PROTECTED: Record<string, string[]> = {
  'auth/token/accessors': ['auth/token/accessors/'],
  'auth/token/revoke-orphan': ['auth/token/revoke-orphan'],
  'pki/root': ['pki/root'],
  'pki/root/sign-self-issued': ['pki/root/sign-self-issued'],
  'sys/audit': ['sys/audit'],
  'sys/audit/*': ['sys/audit/file'],
  'sys/auth/*': ['sys/auth/approle', 'sys/auth/approle/tune'],
  'sys/host-info': ['sys/host-info'],
  'sys/key-status': ['sys/key-status'],
  'sys/leases/lookup/*': ['sys/leases/lookup/', 'sys/leases/lookup/database/creds/'],
  'sys/leases/revoke-force/*': ['sys/leases/revoke-force/database/'],
  'sys/leases/revoke-prefix/*': ['sys/leases/revoke-prefix/database/'],
  'sys/remount': ['sys/remount'],
  'sys/rotate': ['sys/rotate'],
  'sys/seal': ['sys/seal'],
};

/** Served before unseal: Vault's HTTP layer handles these outside the logical router. */
const VAULT_SERVED_SEALED = ['sys/health', 'sys/init', 'sys/leader', 'sys/seal-status', 'sys/unseal'];

const VAULT_UNAUTHENTICATED: Record<string, string[]> = {
  ...Object.fromEntries(VAULT_SERVED_SEALED.map((path) => [path, [path]])),
  'sys/generate-root/attempt': ['sys/generate-root/attempt'],
  'sys/generate-root/update': ['sys/generate-root/update'],
  'sys/rekey/init': ['sys/rekey/init'],
  'sys/rekey/update': ['sys/rekey/update'],
  'sys/rekey/verify': ['sys/rekey/verify'],
  'sys/wrapping/lookup': ['sys/wrapping/lookup'],
  'pki/ca': ['pki/ca'],
  'pki/ca/pem': ['pki/ca/pem'],
  'pki/ca_chain': ['pki/ca_chain'],
  'pki/cert/*': ['pki/cert/ca', 'pki/cert/ca_chain', 'pki/cert/crl', 'pki/cert/0a1b', 'pki/cert/0a1b/raw', 'pki/cert/0a1b/raw/pem'],
  'pki/crl': ['pki/crl'],
  'pki/crl/pem': ['pki/crl/pem'],
};

/** `mount/pattern` of every declaration on the listed backends for which `flag` holds. */
function declared(flag: (spec: PathSpec) => boolean): string[] {
  return Object.entries(backends)
    .flatMap(([mount, backend]) => backend.paths.filter(flag).map((spec) => `${mount}${spec.pattern}`))
    .sort();
}

/** The declaration serving a concrete path, as `mount/pattern`. */
function declarationOf(path: string): { id: string; spec: PathSpec } {
  const mount = Object.keys(backends).find((prefix) => path.startsWith(prefix));
  assert.ok(mount, `no backend listed for ${path}`);
  const match = matchPath(backends[mount], path.slice(mount.length));
  assert.ok(match, `coffer serves no path ${path}`);
  return { id: `${mount}${match.spec.pattern}`, spec: match.spec };
}

/** Every documented path is declared with the flag, and every declaration with it is a documented path. */
function compare(documented: Record<string, string[]>, flag: (spec: PathSpec) => boolean): void {
  const covered = new Set<string>();
  for (const [vaultPath, samples] of Object.entries(documented)) {
    for (const sample of samples) {
      const { id, spec } = declarationOf(sample);
      assert.ok(flag(spec), `${sample} (Vault: ${vaultPath}) is served by ${id}, which does not declare it`);
      covered.add(id);
    }
  }
  assert.deepEqual(declared(flag), [...covered].sort(), 'declared paths that Vault does not document as such');
}

describe('special paths are declared on the paths, as Vault documents them', () => {
  test('root-protected paths declare sudo, and only they do', () => {
    compare(VAULT_ROOT_PROTECTED, (spec) => spec.sudo === true);
  });

  test('unauthenticated paths declare it, and only they do', () => {
    compare(VAULT_UNAUTHENTICATED, (spec) => spec.unauthenticated === true);
  });

  test('the paths served while sealed are the five Vault serves before unseal, all unauthenticated', () => {
    compare(Object.fromEntries(VAULT_SERVED_SEALED.map((path) => [path, [path]])), (spec) => spec.servedSealed === true);
    for (const path of VAULT_SERVED_SEALED) assert.equal(declarationOf(path).spec.unauthenticated, true, path);
  });

  test('neighbours of root-protected paths need no sudo', () => {
    for (const path of ['sys/auth', 'sys/mounts/secret', 'sys/mounts/secret/tune', 'sys/leases/lookup', 'sys/audit-hash/file', 'auth/token/revoke']) {
      assert.notEqual(declarationOf(path).spec.sudo, true, path);
    }
  });
});
