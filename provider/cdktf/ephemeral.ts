/**
 * The base of the CDKTF constructs for the provider's ephemeral resources; the constructs themselves are
 * generated from the provider's schema into generated/ephemeral.ts (see ephemeral-bindings.ts). Each
 * synthesizes to Terraform JSON's `ephemeral` block and hands out references (`${ephemeral.TYPE.ID.ATTR}`) as
 * tokens. Terraform accepts such references only in provider configuration, provisioner and connection blocks,
 * locals and write-only arguments.
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
