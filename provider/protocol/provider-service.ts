/**
 * The tfplugin6 `Provider` service over a ProviderDefinition: decodes configs with the schema's type, keeps
 * unknown values out of lifecycle code (deferring or answering unknown instead), encodes results with exactly
 * the schema's attributes and turns every failure into diagnostics, so Terraform never sees a crashed plugin.
 */
import { CodecError, decodeDynamicValue, Dynamic, decodeJson, encodeMsgpack, isWhollyKnown, UNKNOWN, type ObjectValue, type Value } from './codec.js';
import { blockType, checkSchema, wireSchema, type BlockSpec, type CtyType, type SchemaSpec } from './schema.js';
import { DiagnosticsError, error, type ClientCapabilities, type DataSource, type Diagnostic, type EphemeralResource, type ProviderDefinition, type RenewResult, type Resource } from './types.js';
import type { Message } from './rpc.js';
import { isDeepStrictEqual } from 'node:util';

export type Log = (line: string) => void;

type Unit<P> = DataSource<P> | EphemeralResource<P> | Resource<P>;

interface Typed<U> {
  unit: U;
  type: CtyType;
}

export function wireDiagnostic(d: Diagnostic): Message {
  return {
    severity: d.severity === 'error' ? 'ERROR' : 'WARNING',
    summary: d.summary,
    detail: d.detail ?? '',
    attribute: d.path?.length
      ? { steps: d.path.map((s) => (typeof s === 'number' ? { element_key_int: s } : { attribute_name: s })) }
      : undefined,
  };
}

/** Diagnostics for a thrown value; anything but a DiagnosticsError is a bug, logged and reported tersely. */
export function diagnosticsOf(err: unknown, log: Log, what: string): Diagnostic[] {
  if (err instanceof DiagnosticsError) return err.diagnostics;
  if (err instanceof CodecError) return [error(`Invalid value in ${what}`, err.message, err.path)];
  log(`[ERROR] ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return [error(`Unexpected error in ${what}`, `${err instanceof Error ? err.message : String(err)}. This is a bug in the provider; run with TF_LOG=debug for its log.`)];
}

/** A planned value for a config that is not wholly known: computed attributes Terraform left null are unknown. */
function unknownComputed(block: BlockSpec, config: ObjectValue): ObjectValue {
  const out: ObjectValue = { ...config };
  for (const [name, a] of Object.entries(block.attributes)) if (a.computed && out[name] === null) out[name] = UNKNOWN;
  return out;
}

const clientCaps = (m: Message | undefined): ClientCapabilities => ({
  deferralAllowed: !!m?.deferral_allowed,
  writeOnlyAttributesAllowed: !!m?.write_only_attributes_allowed,
});

const dynamicValue = (v: Value, type: CtyType) => ({ msgpack: encodeMsgpack(v, type) });

const timestamp = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

/** The renew_at and private fields of an open or renew answer. */
const renewal = (r: RenewResult) => ({
  renew_at: r.renewAt ? timestamp(r.renewAt) : undefined,
  private: r.private ? Buffer.from(r.private) : undefined,
});

type ProviderState<P> = { kind: 'unconfigured' } | { kind: 'unknown' } | { kind: 'configured'; value: P };

export function providerService<P>(def: ProviderDefinition<P>, log: Log) {
  checkSchema('provider', def.schema.block);
  const providerType = blockType(def.schema.block);
  const index = <U extends Unit<P>>(units: U[]) => {
    const map = new Map<string, Typed<U>>();
    for (const unit of units) {
      checkSchema(unit.typeName, unit.schema.block);
      map.set(unit.typeName, { unit, type: blockType(unit.schema.block) });
    }
    return map;
  };
  const dataSources = index(def.dataSources);
  const ephemerals = index(def.ephemeralResources);
  const resources = index(def.resources);
  let state: ProviderState<P> = { kind: 'unconfigured' };

  const schemas = (units: Unit<P>[]) => Object.fromEntries(units.map((u) => [u.typeName, wireSchema(u.schema)]));
  // Computed once: GetProviderSchema is the first call of most provider processes.
  const schemaResponse: Message = {
    provider: wireSchema(def.schema),
    data_source_schemas: schemas(def.dataSources),
    ephemeral_resource_schemas: schemas(def.ephemeralResources),
    resource_schemas: schemas(def.resources),
    diagnostics: [],
    server_capabilities: { plan_destroy: false, get_provider_schema_optional: false, move_resource_state: false },
  };

  function lookup<U extends Unit<P>>(map: Map<string, Typed<U>>, typeName: string, kind: string): Typed<U> {
    const found = map.get(typeName);
    if (!found) throw new DiagnosticsError(error(`Unknown ${kind} type "${typeName}"`, `This provider offers: ${[...map.keys()].join(', ') || 'none'}.`));
    return found;
  }

  /** Runs `fn`, and answers its failure as `{diagnostics}` on the response. */
  async function guarded(what: string, fn: () => Promise<Message>): Promise<Message> {
    try {
      return await fn();
    } catch (err) {
      return { diagnostics: diagnosticsOf(err, log, what).map(wireDiagnostic) };
    }
  }

  /** The configured provider, or why a unit cannot run yet (deferred when Terraform allows it). */
  function configured(caps: ClientCapabilities): { value: P } | { deferred: true } {
    if (state.kind === 'configured') return { value: state.value };
    if (state.kind === 'unknown') {
      if (caps.deferralAllowed) return { deferred: true };
      throw new DiagnosticsError(
        error('Provider configuration not known yet', 'The provider block depends on values known only after apply; apply those first, or use -target.'),
      );
    }
    throw new DiagnosticsError(error('Provider not configured', 'Terraform did not call ConfigureProvider before using the provider.'));
  }

  /**
   * A read or open can run only with a configured provider and a wholly known config. Otherwise the answer is
   * the config with its computed attributes unknown, deferred when Terraform accepts deferrals.
   */
  function whenReady<U extends Unit<P>>(typed: Typed<U>, req: Message): { config: ObjectValue; provider: P } | { pending: { value: Message; deferred?: Message } } {
    const caps = clientCaps(req.client_capabilities);
    const config = decodeDynamicValue(req.config, typed.type) as ObjectValue;
    const provider = configured(caps);
    if ('value' in provider && isWhollyKnown(config)) return { config, provider: provider.value };
    const reason = 'value' in provider ? 'RESOURCE_CONFIG_UNKNOWN' : 'PROVIDER_CONFIG_UNKNOWN';
    return {
      pending: {
        value: dynamicValue(unknownComputed(typed.unit.schema.block, config), typed.type),
        deferred: caps.deferralAllowed ? { reason } : undefined,
      },
    };
  }

  function validateWith(what: string, typed: { type: CtyType }, dv: Message | undefined, check: ((c: ObjectValue) => Diagnostic[]) | undefined): Promise<Message> {
    return guarded(what, async () => {
      const config = decodeDynamicValue(dv, typed.type) as ObjectValue;
      return { diagnostics: (check?.(config ?? {}) ?? []).map(wireDiagnostic) };
    });
  }

  /** Write-only attributes are never kept: null in every planned and new state, nested blocks included. */
  function withoutWriteOnly(block: BlockSpec, value: ObjectValue): ObjectValue {
    const out = { ...value };
    for (const [name, a] of Object.entries(block.attributes)) if (a.writeOnly) out[name] = null;
    for (const [name, nb] of Object.entries(block.blocks ?? {})) {
      const v = out[name];
      if (Array.isArray(v)) out[name] = v.map((item) => (isObject(item) ? withoutWriteOnly(nb.block, item) : item));
      else if (isObject(v)) out[name] = withoutWriteOnly(nb.block, v);
    }
    return out;
  }

  const isObject = (v: Value): v is ObjectValue => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Dynamic);

  const decodeObject = (dv: Message | undefined, type: CtyType) => decodeDynamicValue(dv, type) as ObjectValue | null;

  function managedResourceRpcs() {
    return {
      ValidateResourceConfig(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const t = lookup(resources, req.type_name, 'resource');
          return validateWith(`resource ${req.type_name}`, t, req.config, t.unit.validate?.bind(t.unit));
        });
      },

      UpgradeResourceState(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const { unit, type } = lookup(resources, req.type_name, 'resource');
          if ((req.version ?? 0) > (unit.schema.version ?? 0)) {
            throw new DiagnosticsError(error(`State of ${req.type_name} was written by a newer provider`, `Schema version ${req.version}; this provider knows ${unit.schema.version ?? 0}.`));
          }
          if (!req.raw_state?.json?.length) throw new DiagnosticsError(error(`State of ${req.type_name} is in the legacy flatmap format`, 'Only JSON state is supported.'));
          return { upgraded_state: dynamicValue(decodeJson(req.raw_state.json, type), type), diagnostics: [] };
        });
      },

      ReadResource(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const { unit, type } = lookup(resources, req.type_name, 'resource');
          const current = decodeObject(req.current_state, type);
          const provider = configured(clientCaps(req.client_capabilities));
          if (!('value' in provider)) return { new_state: req.current_state, deferred: { reason: 'PROVIDER_CONFIG_UNKNOWN' }, diagnostics: [] };
          if (!current) return { new_state: dynamicValue(null, type), diagnostics: [] };
          const found = await unit.read(current, provider.value);
          return { new_state: dynamicValue(found && withoutWriteOnly(unit.schema.block, { ...current, ...found }), type), private: req.private, diagnostics: [] };
        });
      },

      PlanResourceChange(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const { unit, type } = lookup(resources, req.type_name, 'resource');
          const prior = decodeObject(req.prior_state, type);
          const proposed = decodeObject(req.proposed_new_state, type);
          if (!proposed) return { planned_state: dynamicValue(null, type), diagnostics: [] };
          const config = decodeObject(req.config, type) ?? {};
          const caps = clientCaps(req.client_capabilities);
          if (state.kind === 'unknown' && caps.deferralAllowed) {
            return { planned_state: dynamicValue(unknownComputed(unit.schema.block, config), type), deferred: { reason: 'PROVIDER_CONFIG_UNKNOWN' }, diagnostics: [] };
          }
          const planned = withoutWriteOnly(unit.schema.block, proposed);
          const replace = prior ? (unit.replaceOn ?? []).filter((a) => !isDeepStrictEqual(prior[a], planned[a])) : [];
          // A new object (created or replacing the old one) gets fresh computed values, known after apply.
          const fresh = !prior || replace.length > 0;
          for (const [name, a] of Object.entries(unit.schema.block.attributes)) {
            if (fresh && a.computed && config[name] === null) planned[name] = UNKNOWN;
          }
          const final = prior && !fresh && unit.planUpdate ? unit.planUpdate(planned, prior) : planned;
          return { planned_state: dynamicValue(final, type), requires_replace: replace.map((a) => ({ steps: [{ attribute_name: a }] })), diagnostics: [] };
        });
      },

      ApplyResourceChange(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const { unit, type } = lookup(resources, req.type_name, 'resource');
          const prior = decodeObject(req.prior_state, type);
          const planned = decodeObject(req.planned_state, type);
          const config = decodeObject(req.config, type) ?? {};
          const provider = configured(clientCaps(undefined));
          if (!('value' in provider)) throw new DiagnosticsError(error('Provider configuration not known yet'));
          if (!planned) {
            if (prior) await unit.delete(prior, provider.value);
            return { new_state: dynamicValue(null, type), diagnostics: [] };
          }
          const set = prior ? await unit.update(planned, prior, provider.value, config) : await unit.create(planned, provider.value, config);
          return { new_state: dynamicValue(withoutWriteOnly(unit.schema.block, { ...planned, ...set }), type), diagnostics: [] };
        });
      },

      ImportResourceState(req: Message): Promise<Message> {
        return guarded(`resource ${req.type_name}`, async () => {
          const { unit, type } = lookup(resources, req.type_name, 'resource');
          const provider = configured(clientCaps(req.client_capabilities));
          if (!('value' in provider)) return { imported_resources: [], deferred: { reason: 'PROVIDER_CONFIG_UNKNOWN' }, diagnostics: [] };
          const imported = await unit.importState(String(req.id ?? ''), provider.value);
          return { imported_resources: [{ type_name: req.type_name, state: dynamicValue(imported, type) }], diagnostics: [] };
        });
      },
    };
  }

  return {
    async GetMetadata(): Promise<Message> {
      return {
        server_capabilities: schemaResponse.server_capabilities,
        data_sources: def.dataSources.map((u) => ({ type_name: u.typeName })),
        ephemeral_resources: def.ephemeralResources.map((u) => ({ type_name: u.typeName })),
        resources: def.resources.map((u) => ({ type_name: u.typeName })),
        diagnostics: [],
      };
    },

    async GetProviderSchema(): Promise<Message> {
      return schemaResponse;
    },

    ValidateProviderConfig(req: Message): Promise<Message> {
      return validateWith('the provider configuration', { type: providerType }, req.config, def.validate);
    },

    ValidateDataResourceConfig(req: Message): Promise<Message> {
      return guarded(`data source ${req.type_name}`, async () => {
        const t = lookup(dataSources, req.type_name, 'data source');
        return validateWith(`data source ${req.type_name}`, t, req.config, t.unit.validate?.bind(t.unit));
      });
    },

    ValidateEphemeralResourceConfig(req: Message): Promise<Message> {
      return guarded(`ephemeral resource ${req.type_name}`, async () => {
        const t = lookup(ephemerals, req.type_name, 'ephemeral resource');
        return validateWith(`ephemeral resource ${req.type_name}`, t, req.config, t.unit.validate?.bind(t.unit));
      });
    },

    ConfigureProvider(req: Message): Promise<Message> {
      return guarded('the provider configuration', async () => {
        const config = (decodeDynamicValue(req.config, providerType) ?? {}) as ObjectValue;
        if (!isWhollyKnown(config)) {
          state = { kind: 'unknown' };
          return { diagnostics: [] };
        }
        state = { kind: 'configured', value: await def.configure(config, { terraformVersion: req.terraform_version ?? '' }) };
        return { diagnostics: [] };
      });
    },

    ReadDataSource(req: Message): Promise<Message> {
      return guarded(`data source ${req.type_name}`, async () => {
        const typed = lookup(dataSources, req.type_name, 'data source');
        const ready = whenReady(typed, req);
        if ('pending' in ready) return { state: ready.pending.value, deferred: ready.pending.deferred, diagnostics: [] };
        const result = await typed.unit.read(ready.config, ready.provider);
        return { state: dynamicValue({ ...ready.config, ...result }, typed.type), diagnostics: [] };
      });
    },

    OpenEphemeralResource(req: Message): Promise<Message> {
      return guarded(`ephemeral resource ${req.type_name}`, async () => {
        const typed = lookup(ephemerals, req.type_name, 'ephemeral resource');
        const ready = whenReady(typed, req);
        if ('pending' in ready) return { result: ready.pending.value, deferred: ready.pending.deferred, diagnostics: [] };
        const opened = await typed.unit.open(ready.config, ready.provider);
        return { result: dynamicValue({ ...ready.config, ...opened.result }, typed.type), ...renewal(opened), diagnostics: [] };
      });
    },

    RenewEphemeralResource(req: Message): Promise<Message> {
      return guarded(`ephemeral resource ${req.type_name}`, async () => {
        const { unit } = lookup(ephemerals, req.type_name, 'ephemeral resource');
        const provider = configured(clientCaps(undefined));
        if (!('value' in provider) || !unit.renew) return { diagnostics: [] };
        const renewed = await unit.renew(req.private?.length ? req.private : null, provider.value);
        return { ...renewal(renewed), diagnostics: [] };
      });
    },

    CloseEphemeralResource(req: Message): Promise<Message> {
      return guarded(`ephemeral resource ${req.type_name}`, async () => {
        const { unit } = lookup(ephemerals, req.type_name, 'ephemeral resource');
        const provider = configured(clientCaps(undefined));
        if (!('value' in provider) || !unit.close) return { diagnostics: [] };
        const warnings = await unit.close(req.private?.length ? req.private : null, provider.value);
        return { diagnostics: (warnings ?? []).map(wireDiagnostic) };
      });
    },

    async StopProvider(): Promise<Message> {
      try {
        await def.stop?.();
        return {};
      } catch (err) {
        return { Error: err instanceof Error ? err.message : String(err) };
      }
    },

    ...managedResourceRpcs(),
  };
}

export type { SchemaSpec };
