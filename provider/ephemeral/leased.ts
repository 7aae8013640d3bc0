/**
 * An ephemeral resource made from a data source whose answer may carry a lease: Open reads like the data
 * source, Renew renews the lease, Close revokes it. The values reach neither plan nor state.
 */
import type { DataSource, EphemeralResource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { closeHandle, encodeHandle, renewAt, renewHandle } from './handle.js';

export function leasedEphemeral(source: DataSource<Session>, description: string): EphemeralResource<Session> {
  return {
    typeName: source.typeName,
    schema: { ...source.schema, block: { ...source.schema.block, description } },
    validate: source.validate,
    async open(config, session) {
      const result = await source.read(config, session);
      const leaseId = typeof result.lease_id === 'string' ? result.lease_id : '';
      if (!leaseId) return { result };
      const seconds = typeof result.lease_duration === 'number' ? result.lease_duration : 0;
      return { result, renewAt: renewAt(seconds, result.lease_renewable === true), private: encodeHandle({ kind: 'lease', lease_id: leaseId }) };
    },
    renew: renewHandle,
    close: closeHandle,
  };
}
