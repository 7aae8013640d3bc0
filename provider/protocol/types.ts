/**
 * What a provider built on this protocol layer declares: its own schema and configure step, and one unit per
 * data source and ephemeral resource (metadata, schema, lifecycle), in the manner of the Terraform plugin
 * framework. Nothing here knows which provider it serves.
 */
import type { ObjectValue } from './codec.js';
import type { SchemaSpec } from './schema.js';

export type AttributePath = (string | number)[];

export interface Diagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  /** Attribute names and list indexes leading to the attribute the diagnostic is about. */
  path?: AttributePath;
}

/** Thrown by a lifecycle step to answer with these diagnostics instead of a result. */
export class DiagnosticsError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic | Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => d.summary).join('; '));
    this.name = 'DiagnosticsError';
    this.diagnostics = list;
  }
}

export const error = (summary: string, detail?: string, path?: AttributePath): Diagnostic => ({ severity: 'error', summary, detail, path });

/** What Terraform told the provider about itself in the request. */
export interface ClientCapabilities {
  deferralAllowed: boolean;
  writeOnlyAttributesAllowed: boolean;
}

export interface DataSource<P> {
  typeName: string;
  schema: SchemaSpec;
  /** Checks beyond the schema; the config may still hold unknown values. */
  validate?(config: ObjectValue): Diagnostic[];
  /** Called with a wholly known config; returns the attributes to set (the config's own are kept). */
  read(config: ObjectValue, provider: P): Promise<ObjectValue>;
}

export interface OpenResult {
  result: ObjectValue;
  /** When Terraform should call renew, if the resource lasts longer than Terraform needs it. */
  renewAt?: Date;
  /** Kept by Terraform and handed back to renew and close; never shown or stored. */
  private?: Uint8Array;
}

export interface RenewResult {
  renewAt?: Date;
  private?: Uint8Array;
}

export interface EphemeralResource<P> {
  typeName: string;
  schema: SchemaSpec;
  validate?(config: ObjectValue): Diagnostic[];
  open(config: ObjectValue, provider: P): Promise<OpenResult>;
  renew?(priv: Uint8Array | null, provider: P): Promise<RenewResult>;
  /** Warnings it returns are shown; a failure to close is thrown. */
  close?(priv: Uint8Array | null, provider: P): Promise<Diagnostic[] | void>;
}

/**
 * A managed resource. Lifecycle steps return the attributes they set; the planned (or prior) value supplies
 * the rest. `config` carries write-only attributes, which never appear in planned or stored state.
 */
export interface Resource<P> {
  typeName: string;
  schema: SchemaSpec;
  validate?(config: ObjectValue): Diagnostic[];
  /** Attributes whose change replaces the object instead of updating it in place. */
  replaceOn?: string[];
  /** Adjusts a planned in-place update (e.g. a computed attribute that follows a changed argument). */
  planUpdate?(planned: ObjectValue, prior: ObjectValue): ObjectValue;
  create(planned: ObjectValue, provider: P, config: ObjectValue): Promise<ObjectValue>;
  /** The object as it is now on the server (drift shows as a diff), or null when it is gone. */
  read(state: ObjectValue, provider: P): Promise<ObjectValue | null>;
  update(planned: ObjectValue, prior: ObjectValue, provider: P, config: ObjectValue): Promise<ObjectValue>;
  delete(prior: ObjectValue, provider: P): Promise<void>;
  /** The state `terraform import ID` starts from; Terraform reads the object right after. */
  importState(id: string, provider: P): Promise<ObjectValue>;
}

export interface ProviderDefinition<P> {
  schema: SchemaSpec;
  validate?(config: ObjectValue): Diagnostic[];
  /** Called with a wholly known config; what it returns is handed to every data source and resource. */
  configure(config: ObjectValue, request: { terraformVersion: string }): Promise<P>;
  dataSources: DataSource<P>[];
  ephemeralResources: EphemeralResource<P>[];
  resources: Resource<P>[];
  /** StopProvider: cancel work in flight. */
  stop?(): Promise<void>;
  /** The process is about to end (controller Shutdown or a signal): release what configure acquired. */
  shutdown?(): Promise<void>;
}
