/**
 * CDKTF constructs for the provider's ephemeral resources. @cdktf/provider-generator (CDKTF 0.21, archived)
 * knows nothing of ephemeral resources, so these are written by hand; a test checks them against the
 * provider's schema (generated/schema.json). Each synthesizes to Terraform JSON's `ephemeral` block and hands
 * out references (`${ephemeral.TYPE.ID.ATTR}`) as tokens. Terraform accepts such references only in provider
 * configuration, provisioner and connection blocks, locals and write-only arguments.
 *
 * Adding one: a config interface (camelCase keys; they are written in snake_case), a subclass passing its type
 * name, and one getter per schema attribute.
 */
import { Construct } from 'constructs';
import {
  dependable,
  ref,
  Token,
  TerraformElement,
  type IResolvable,
  type ITerraformDependable,
  type TerraformProvider,
} from 'cdktf';

export interface CofferEphemeralMetaArguments {
  /** A provider configuration other than the default one (an aliased `CofferProvider`). */
  readonly provider?: TerraformProvider;
  readonly dependsOn?: ITerraformDependable[];
}

const META_ARGUMENTS = new Set(['provider', 'dependsOn']);

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** What every ephemeral construct shares: the `ephemeral` block it writes and typed references into it. */
export abstract class CofferEphemeralResource<Config extends CofferEphemeralMetaArguments> extends TerraformElement {
  protected constructor(
    scope: Construct,
    id: string,
    readonly terraformResourceType: string,
    private readonly config: Config,
  ) {
    super(scope, id, `ephemeral.${terraformResourceType}`);
  }

  override toTerraform(): any {
    const block: Record<string, unknown> = {};
    // Only top-level keys are renamed: the values include user maps (e.g. token metadata) whose keys are data.
    for (const [key, value] of Object.entries(this.config)) {
      if (value !== undefined && !META_ARGUMENTS.has(key)) block[snakeCase(key)] = value;
    }
    if (this.config.provider) block.provider = this.config.provider.fqn;
    if (this.config.dependsOn?.length) block.depends_on = this.config.dependsOn.map((d) => dependable(d));
    block['//'] = this.constructNodeMetadata;
    return { ephemeral: { [this.terraformResourceType]: { [this.friendlyUniqueId]: block } } };
  }

  override toHclTerraform(): any {
    // cdktf's HCL renderer has no ephemeral block; failing beats dropping the resource from the output.
    throw new Error(`${this.node.path}: ephemeral resources synthesize to JSON only; turn off the hclOutput feature`);
  }

  private reference(attribute: string): IResolvable {
    return ref(`ephemeral.${this.terraformResourceType}.${this.friendlyUniqueId}.${attribute}`, this.cdktfStack);
  }
  protected stringAttribute(attribute: string): string {
    return Token.asString(this.reference(attribute));
  }
  protected numberAttribute(attribute: string): number {
    return Token.asNumber(this.reference(attribute));
  }
  protected booleanAttribute(attribute: string): IResolvable {
    return this.reference(attribute);
  }
  protected stringMapAttribute(attribute: string): Record<string, string> {
    return Token.asStringMap(this.reference(attribute));
  }
  protected listAttribute(attribute: string): string[] {
    return Token.asList(this.reference(attribute));
  }
}

/** The attributes every lease-carrying answer has (see provider/ephemeral/leased.ts). */
abstract class LeasedEphemeral<Config extends CofferEphemeralMetaArguments> extends CofferEphemeralResource<Config> {
  get leaseId(): string {
    return this.stringAttribute('lease_id');
  }
  get leaseDuration(): number {
    return this.numberAttribute('lease_duration');
  }
  get leaseRenewable(): IResolvable {
    return this.booleanAttribute('lease_renewable');
  }
}

export interface EphemeralCofferDatabaseCredentialsConfig extends CofferEphemeralMetaArguments {
  /** Path of the database secrets engine mount. */
  readonly mount: string;
  /** Role to issue credentials for. */
  readonly role: string;
}

/** `coffer_database_credentials`: a database user for the run, revoked (dropped) when Terraform closes it. */
export class EphemeralCofferDatabaseCredentials extends LeasedEphemeral<EphemeralCofferDatabaseCredentialsConfig> {
  static readonly tfResourceType = 'coffer_database_credentials';
  constructor(scope: Construct, id: string, config: EphemeralCofferDatabaseCredentialsConfig) {
    super(scope, id, EphemeralCofferDatabaseCredentials.tfResourceType, config);
  }
  get mount(): string {
    return this.stringAttribute('mount');
  }
  get role(): string {
    return this.stringAttribute('role');
  }
  get username(): string {
    return this.stringAttribute('username');
  }
  get password(): string {
    return this.stringAttribute('password');
  }
}

export interface EphemeralCofferGenericSecretConfig extends CofferEphemeralMetaArguments {
  /** API path to read, e.g. secret/app or database/creds/ROLE. */
  readonly path: string;
  /** KV version to read; the latest when unset or 0. */
  readonly version?: number;
}

/** `coffer_generic_secret`: any readable path; a lease in the answer is renewed and revoked at close. */
export class EphemeralCofferGenericSecret extends LeasedEphemeral<EphemeralCofferGenericSecretConfig> {
  static readonly tfResourceType = 'coffer_generic_secret';
  constructor(scope: Construct, id: string, config: EphemeralCofferGenericSecretConfig) {
    super(scope, id, EphemeralCofferGenericSecret.tfResourceType, config);
  }
  get path(): string {
    return this.stringAttribute('path');
  }
  get version(): number {
    return this.numberAttribute('version');
  }
  get data(): Record<string, string> {
    return this.stringMapAttribute('data');
  }
  get dataJson(): string {
    return this.stringAttribute('data_json');
  }
}

export interface EphemeralCofferKvSecretV2Config extends CofferEphemeralMetaArguments {
  /** Path of the KV v2 mount, e.g. secret. */
  readonly mount: string;
  /** Name of the secret within the mount. */
  readonly name: string;
  /** Version to read; the latest when unset or 0. */
  readonly version?: number;
}

/** `coffer_kv_secret_v2`: one version of a KV v2 secret, kept out of plan and state. */
export class EphemeralCofferKvSecretV2 extends CofferEphemeralResource<EphemeralCofferKvSecretV2Config> {
  static readonly tfResourceType = 'coffer_kv_secret_v2';
  constructor(scope: Construct, id: string, config: EphemeralCofferKvSecretV2Config) {
    super(scope, id, EphemeralCofferKvSecretV2.tfResourceType, config);
  }
  get mount(): string {
    return this.stringAttribute('mount');
  }
  get name(): string {
    return this.stringAttribute('name');
  }
  get version(): number {
    return this.numberAttribute('version');
  }
  get path(): string {
    return this.stringAttribute('path');
  }
  get data(): Record<string, string> {
    return this.stringMapAttribute('data');
  }
  get dataJson(): string {
    return this.stringAttribute('data_json');
  }
  get customMetadata(): Record<string, string> {
    return this.stringMapAttribute('custom_metadata');
  }
  get createdTime(): string {
    return this.stringAttribute('created_time');
  }
  get deletionTime(): string {
    return this.stringAttribute('deletion_time');
  }
  get destroyed(): IResolvable {
    return this.booleanAttribute('destroyed');
  }
}

export interface EphemeralCofferTokenConfig extends CofferEphemeralMetaArguments {
  readonly policies?: string[];
  /** e.g. 1h */
  readonly ttl?: string;
  readonly explicitMaxTtl?: string;
  readonly period?: string;
  readonly renewable?: boolean | IResolvable;
  readonly displayName?: string;
  readonly numUses?: number;
  readonly noDefaultPolicy?: boolean | IResolvable;
  readonly metadata?: Record<string, string>;
}

/** `coffer_token`: a child token of the provider's for the run, revoked by accessor at close. */
export class EphemeralCofferToken extends CofferEphemeralResource<EphemeralCofferTokenConfig> {
  static readonly tfResourceType = 'coffer_token';
  constructor(scope: Construct, id: string, config: EphemeralCofferTokenConfig = {}) {
    super(scope, id, EphemeralCofferToken.tfResourceType, config);
  }
  get policies(): string[] {
    return this.listAttribute('policies');
  }
  get ttl(): string {
    return this.stringAttribute('ttl');
  }
  get explicitMaxTtl(): string {
    return this.stringAttribute('explicit_max_ttl');
  }
  get period(): string {
    return this.stringAttribute('period');
  }
  get renewable(): IResolvable {
    return this.booleanAttribute('renewable');
  }
  get displayName(): string {
    return this.stringAttribute('display_name');
  }
  get numUses(): number {
    return this.numberAttribute('num_uses');
  }
  get noDefaultPolicy(): IResolvable {
    return this.booleanAttribute('no_default_policy');
  }
  get metadata(): Record<string, string> {
    return this.stringMapAttribute('metadata');
  }
  get clientToken(): string {
    return this.stringAttribute('client_token');
  }
  get accessor(): string {
    return this.stringAttribute('accessor');
  }
  get leaseDuration(): number {
    return this.numberAttribute('lease_duration');
  }
}

export interface EphemeralCofferPkiCertificateConfig extends CofferEphemeralMetaArguments {
  /** Path of the PKI mount, e.g. pki_int. */
  readonly backend: string;
  /** Role to issue from. */
  readonly name: string;
  readonly commonName: string;
  readonly altNames?: string[];
  readonly ipSans?: string[];
  readonly uriSans?: string[];
  readonly otherSans?: string[];
  /** e.g. 1h; at most the role's max_ttl. */
  readonly ttl?: string;
  /** pem (default), der or pem_bundle. */
  readonly format?: string;
  /** der (default) or pkcs8. */
  readonly privateKeyFormat?: string;
  readonly excludeCnFromSans?: boolean | IResolvable;
  /** false keeps the certificate valid after the run (for a write-only argument of a lasting resource). */
  readonly revoke?: boolean | IResolvable;
}

/** `coffer_pki_certificate`: a certificate and key for the run, revoked at close unless `revoke` is false. */
export class EphemeralCofferPkiCertificate extends CofferEphemeralResource<EphemeralCofferPkiCertificateConfig> {
  static readonly tfResourceType = 'coffer_pki_certificate';
  constructor(scope: Construct, id: string, config: EphemeralCofferPkiCertificateConfig) {
    super(scope, id, EphemeralCofferPkiCertificate.tfResourceType, config);
  }
  get backend(): string {
    return this.stringAttribute('backend');
  }
  get name(): string {
    return this.stringAttribute('name');
  }
  get commonName(): string {
    return this.stringAttribute('common_name');
  }
  get altNames(): string[] {
    return this.listAttribute('alt_names');
  }
  get ipSans(): string[] {
    return this.listAttribute('ip_sans');
  }
  get uriSans(): string[] {
    return this.listAttribute('uri_sans');
  }
  get otherSans(): string[] {
    return this.listAttribute('other_sans');
  }
  get ttl(): string {
    return this.stringAttribute('ttl');
  }
  get format(): string {
    return this.stringAttribute('format');
  }
  get privateKeyFormat(): string {
    return this.stringAttribute('private_key_format');
  }
  get excludeCnFromSans(): IResolvable {
    return this.booleanAttribute('exclude_cn_from_sans');
  }
  get revoke(): IResolvable {
    return this.booleanAttribute('revoke');
  }
  get certificate(): string {
    return this.stringAttribute('certificate');
  }
  get issuingCa(): string {
    return this.stringAttribute('issuing_ca');
  }
  get caChain(): string[] {
    return this.listAttribute('ca_chain');
  }
  get privateKey(): string {
    return this.stringAttribute('private_key');
  }
  get privateKeyType(): string {
    return this.stringAttribute('private_key_type');
  }
  get serialNumber(): string {
    return this.stringAttribute('serial_number');
  }
  get expiration(): number {
    return this.numberAttribute('expiration');
  }
}
