/**
 * The CDKTF bindings (`coffer/cdktf`): the generated classes (the ephemeral constructs included) are current,
 * the ephemeral constructs match the provider's schema, and what they synthesize is Terraform JSON that terraform accepts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataResource, TerraformLocal, TerraformStack, Testing } from 'cdktf';
import * as bindings from 'coffer/cdktf';
import { GENERATED_DIR, generateBindings, walk } from '../../provider/cdktf/build-bindings.js';
import { ephemeralBindings, ephemeralClassName } from '../../provider/cdktf/ephemeral-bindings.js';
import { assertInstalledFromMirror, installProvider, runTerraform } from '../helpers/terraform.js';

interface SchemaAttribute {
  type: string | unknown[];
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
}
const schema = JSON.parse(readFileSync(path.join(GENERATED_DIR, 'schema.json'), 'utf8')) as {
  ephemeral_resource_schemas: Record<string, { block: { attributes: Record<string, SchemaAttribute>; block_types?: object } }>;
};

type EphemeralClass = (new (scope: TerraformStack, id: string, config: Record<string, unknown>) => bindings.CofferEphemeralResource<any>) & {
  tfResourceType: string;
};
const constructs = (Object.values(bindings) as unknown[]).filter(
  (v): v is EphemeralClass => typeof v === 'function' && v.prototype instanceof bindings.CofferEphemeralResource,
);

const camelCase = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A value of the schema type, to set every argument. */
function sample(type: SchemaAttribute['type']): unknown {
  if (type === 'string') return 'x';
  if (type === 'number') return 7;
  if (type === 'bool') return true;
  if (Array.isArray(type) && type[0] === 'map') return { someKey: 'v' };
  if (Array.isArray(type) && (type[0] === 'set' || type[0] === 'list')) return ['a'];
  throw new Error(`no sample for ${JSON.stringify(type)}`);
}

/** Synthesizes what `build` adds to a fresh stack; the `//` metadata is dropped. */
function synth(build: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), 'test');
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

let work: string;
before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'coffer-cdktf-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('CDKTF bindings', { timeout: 120_000 }, () => {
  it('the committed provider/cdktf/generated is what the generator makes from the current provider schema', async () => {
    const fresh = path.join(work, 'generated');
    await generateBindings(fresh);
    const stale = 'provider/cdktf/generated is out of date with the provider schema: run npm run provider:bindings';
    assert.deepEqual(walk(GENERATED_DIR), walk(fresh), stale);
    for (const f of walk(fresh)) assert.equal(readFileSync(path.join(GENERATED_DIR, f), 'utf8'), readFileSync(path.join(fresh, f), 'utf8'), `${f}: ${stale}`);
    assert.ok(walk(fresh).includes('ephemeral.ts'), 'the ephemeral constructs are among the generated files');
  });

  it('generates an ephemeral construct for a new ephemeral resource from its schema alone', () => {
    const text = ephemeralBindings({
      coffer_new_thing: {
        block: {
          description: 'A new thing.',
          attributes: {
            sans: { type: ['set', 'string'], optional: true, description: 'Names.' },
            backend_path: { type: 'string', required: true, description: 'Mount.' },
            flag: { type: 'bool', optional: true, description: 'A flag.' },
            secret_value: { type: 'string', computed: true, description: 'Out.' },
          },
        },
      },
      coffer_all_optional: { block: { attributes: { ttl: { type: 'number', optional: true } } } },
    });
    assert.equal(ephemeralClassName('coffer_new_thing'), 'EphemeralCofferNewThing');
    assert.match(text, /\/\*\* Mount\. \*\/\n  readonly backendPath: string;\n/);
    assert.match(text, /readonly flag\?: boolean \| IResolvable;/);
    assert.match(text, /readonly sans\?: string\[\];/);
    assert.doesNotMatch(text, /readonly secretValue/, 'a computed-only attribute is no argument');
    assert.match(text, /get secretValue\(\): string \{\n    return this\.stringAttribute\('secret_value'\);/);
    assert.match(text, /\/\*\* `coffer_new_thing`: A new thing\. \*\/\nexport class EphemeralCofferNewThing extends CofferEphemeralResource<EphemeralCofferNewThingConfig>/);
    assert.match(text, /config: EphemeralCofferNewThingConfig\)/);
    assert.match(text, /config: EphemeralCofferAllOptionalConfig = \{\}\)/, 'no required argument: the config may be left out');
    assert.ok(text.indexOf('EphemeralCofferAllOptional') < text.indexOf('EphemeralCofferNewThing'), 'classes in name order');
    assert.throws(
      () => ephemeralBindings({ coffer_x: { block: { attributes: { o: { type: ['object', { a: 'string' }], optional: true } } } } }),
      /coffer_x\.o: no CDKTF binding for the type \["object",\{"a":"string"\}\]/,
    );
  });

  it('exports the generated provider, data sources and resources', () => {
    const json = synth((stack) => {
      new bindings.provider.CofferProvider(stack, 'coffer', { maxLeaseTtlSeconds: 600, skipChildToken: true });
      new bindings.dataCofferKvSecretV2.DataCofferKvSecretV2(stack, 'app', { mount: 'secret', name: 'app' });
      new bindings.policy.Policy(stack, 'reader', { name: 'reader', policy: 'path "secret/*" { capabilities = ["read"] }' });
    });
    assert.deepEqual(json.provider.coffer, [{ max_lease_ttl_seconds: 600, skip_child_token: true }]);
    assert.deepEqual(json.data.coffer_kv_secret_v2.app, { mount: 'secret', name: 'app' });
    assert.equal(json.resource.coffer_policy.reader.name, 'reader');
    assert.deepEqual(json.terraform.required_providers.coffer, { source: 'terraform.local/coffer/coffer' });
  });

  it('has one ephemeral construct per ephemeral resource in the schema, taking its arguments and exposing its attributes', () => {
    assert.deepEqual(constructs.map((c) => c.tfResourceType).sort(), Object.keys(schema.ephemeral_resource_schemas).sort());
    for (const Construct of constructs) {
      const type = Construct.tfResourceType;
      const { attributes, block_types } = schema.ephemeral_resource_schemas[type]!.block;
      assert.equal(block_types, undefined, `${type}: nested blocks need support in CofferEphemeralResource`);
      const args = Object.entries(attributes).filter(([, a]) => a.required || a.optional);
      const json = synth((stack) => {
        const resource = new Construct(stack, 'it', Object.fromEntries(args.map(([name, a]) => [camelCase(name), sample(a.type)])));
        // Every attribute as a reference, in locals (where Terraform accepts ephemeral values).
        new TerraformLocal(stack, 'refs', Object.fromEntries(Object.keys(attributes).map((name) => [name, (resource as any)[camelCase(name)]])));
      });
      assert.deepEqual(
        json.ephemeral[type].it,
        Object.fromEntries(args.map(([name, a]) => [name, sample(a.type)])),
        `${type}: arguments in snake_case, map keys untouched`,
      );
      assert.deepEqual(
        json.locals.refs,
        Object.fromEntries(Object.keys(attributes).map((name) => [name, `\${ephemeral.${type}.it.${name}}`])),
        `${type}: a getter per attribute`,
      );
    }
  });

  it('synthesizes ephemeral blocks with provider and depends_on, and references into a terraform_data provisioner', () => {
    const json = synth((stack) => {
      const other = new bindings.provider.CofferProvider(stack, 'other', { alias: 'other' });
      const kv = new bindings.EphemeralCofferKvSecretV2(stack, 'settings', { mount: 'secret', name: 'app', provider: other });
      const token = new bindings.EphemeralCofferToken(stack, 'deploy', { policies: ['deployer'], ttl: '10m', dependsOn: [kv] });
      new DataResource(stack, 'run', {
        provisioners: [{ type: 'local-exec', command: './deploy.sh', environment: { COFFER_TOKEN: token.clientToken, SETTINGS: kv.dataJson } }],
      });
    });
    assert.deepEqual(json.ephemeral, {
      coffer_kv_secret_v2: { settings: { mount: 'secret', name: 'app', provider: 'coffer.other' } },
      coffer_token: { deploy: { policies: ['deployer'], ttl: '10m', depends_on: ['ephemeral.coffer_kv_secret_v2.settings'] } },
    });
    assert.deepEqual(json.resource.terraform_data.run.provisioner, [
      {
        'local-exec': {
          command: './deploy.sh',
          environment: { COFFER_TOKEN: '${ephemeral.coffer_token.deploy.client_token}', SETTINGS: '${ephemeral.coffer_kv_secret_v2.settings.data_json}' },
        },
      },
    ]);
  });

  it('says plainly that ephemeral constructs do not render as HCL', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    new bindings.EphemeralCofferToken(stack, 'deploy');
    assert.throws(() => Testing.synthHcl(stack), /test\/deploy: ephemeral resources synthesize to JSON only/);
  });

  it('terraform validate accepts every ephemeral construct, used in a terraform_data provisioner', async () => {
    const dir = path.join(work, 'validate');
    mkdirSync(dir);
    const json = synth((stack) => {
      new bindings.provider.CofferProvider(stack, 'coffer', {});
      const db = new bindings.EphemeralCofferDatabaseCredentials(stack, 'db', { mount: 'database', role: 'app' });
      const generic = new bindings.EphemeralCofferGenericSecret(stack, 'generic', { path: 'secret/app', version: 1 });
      const kv = new bindings.EphemeralCofferKvSecretV2(stack, 'kv', { mount: 'secret', name: 'app' });
      const token = new bindings.EphemeralCofferToken(stack, 'token', { policies: ['default'], ttl: '5m', renewable: false, metadata: { team: 'ops' } });
      const cert = new bindings.EphemeralCofferPkiCertificate(stack, 'cert', { backend: 'pki', name: 'web', commonName: 'app.example.com', altNames: ['www.example.com'], revoke: true });
      new DataResource(stack, 'use', {
        provisioners: [
          {
            type: 'local-exec',
            command: 'true',
            environment: { A: db.password, B: generic.dataJson, C: kv.dataJson, D: token.clientToken, E: `${db.leaseDuration}`, F: cert.privateKey },
          },
        ],
      });
    });
    writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(json));
    await installProvider(work);
    const cliConfig = path.join(work, 'plain.tfrc');
    writeFileSync(cliConfig, '');
    const env = { HOME: work, TF_CLI_CONFIG_FILE: cliConfig };
    assertInstalledFromMirror(await runTerraform(dir, ['init', '-input=false', '-backend=false'], env), dir);
    const validate = await runTerraform(dir, ['validate'], env);
    assert.equal(validate.code, 0, validate.stderr + validate.stdout);
    assert.match(validate.stdout, /Success! The configuration is valid\./);
  });
});
