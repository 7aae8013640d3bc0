/**
 * The shipped manifests (external-secrets/manifests/, examples/external-secrets/), loaded as ESO would see them,
 * and their validation against the CRDs' openAPIV3Schema: the copy in the repository (test/fixtures/crds/), always,
 * and the team's shared copy (test/helpers/shared.ts) in addition when it is present.
 *
 * Why the CRDs themselves and not an npm package: @kubernetes-models/external-secrets (2.0.0, MIT, the maintained
 * one) is generated from ESO v0.16.2's Go types, not from current CRDs: it requires `result` on a webhook provider
 * (so it rejects our push-only stores, which ESO v2's CRD accepts) and it needs Node >= 22 (coffer supports 20).
 * The CRDs are what the API server validates with, so validating against them is the honest check.
 *
 * Validation uses ajv (maintained, full JSON Schema): the CRD schemas are structural OpenAPI v3 schemas, a
 * JSON Schema subset plus `x-kubernetes-*` extensions. Ajv runs in strict mode so that any schema keyword not
 * accounted for here fails loudly; `x-kubernetes-int-or-string` and the `format`s are checked, list/map types
 * and `preserve-unknown-fields` are declared as annotations, and `x-kubernetes-validations` (CEL rules, which
 * only the API server evaluates) are not checked.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { sharedSource, type SharedSource } from '../helpers/shared.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where CRDs are read from: the repository's copy (always present) and the team's (run in addition). */
export const CRD_SOURCES: Pick<SharedSource, 'label' | 'dir' | 'skip'>[] = [
  { label: 'test/fixtures/crds/external-secrets', dir: path.join(REPO, 'test/fixtures/crds/external-secrets'), skip: false },
  sharedSource('crds/external-secrets'),
];
export const MANIFEST_DIRS = [path.join(REPO, 'external-secrets/manifests'), path.join(REPO, 'examples/external-secrets')];

/** The address and CA placeholder every shipped manifest uses. */
export const SHIPPED_ADDR = 'https://coffer.coffer.svc:8200';
export const SHIPPED_CA = 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClJFUExBQ0UtV0lUSC1DT0ZGRVItQ0EKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=';

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  stringData?: Record<string, string>;
}

export function manifestFiles(): string[] {
  return MANIFEST_DIRS.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(dir, f)),
  );
}

/** Every document of every shipped YAML file, with the address and CA replaced by a test server's. */
export function loadManifests(addr = SHIPPED_ADDR, caBase64 = SHIPPED_CA): Manifest[] {
  return manifestFiles().flatMap((file) => {
    const text = readFileSync(file, 'utf8').replaceAll(SHIPPED_ADDR, addr).replaceAll(SHIPPED_CA, caBase64);
    return YAML.parseAllDocuments(text).map((doc) => ({ ...(doc.toJS() as Manifest), file: path.relative(REPO, file) }));
  });
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} among the shipped manifests`);
  return m;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function crdValidators(crdDir: string): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: true, allErrors: true, validateSchema: false });
  ajv.addFormat('byte', BASE64);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    validate: (enabled: boolean, data: unknown) => !enabled || typeof data === 'string' || Number.isInteger(data),
  });
  for (const keyword of ['example', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations']) {
    ajv.addKeyword({ keyword });
  }
  // The OpenAPI `nullable` keyword: ajv knows it only alongside `type`, which is how the CRDs use it.
  const validators = new Map<string, ValidateFunction>();
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    const crd = YAML.parse(readFileSync(path.join(crdDir, file), 'utf8'));
    for (const version of crd.spec.versions) {
      if (!version.served) continue;
      const id = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
      validators.set(id, ajv.compile(version.schema.openAPIV3Schema));
    }
  }
  return validators;
}

const cached = new Map<string, Map<string, ValidateFunction>>();

/**
 * Problems of one manifest against its CRD in `crdDir` (empty when valid); a kind ESO does not serve is a problem
 * too.
 */
export function validateAgainstCrd(m: Manifest, crdDir: string): string[] {
  let validators = cached.get(crdDir);
  if (!validators) cached.set(crdDir, (validators = crdValidators(crdDir)));
  const validate = validators.get(`${m.apiVersion}/${m.kind}`);
  if (!validate) return [`no served CRD version for ${m.apiVersion} ${m.kind}`];
  const { file: _file, ...object } = m;
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}
