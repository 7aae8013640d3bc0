/**
 * `coffer/cdktf`: CDKTF bindings for the provider. The provider, data sources and managed resources are the
 * generated namespaces (as with any `cdktf get` provider: `provider.CofferProvider`,
 * `dataCofferKvSecretV2.DataCofferKvSecretV2`, `kvSecretV2.KvSecretV2`, ...); the ephemeral resources are the
 * hand-written constructs.
 */
export * from './generated/index.js';
export * from './ephemeral.js';
