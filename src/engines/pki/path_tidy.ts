/**
 * `tidy` and `tidy-status`. Tidy removes from the certificate store the certificates that expired more than
 * `safety_buffer` ago (`tidy_cert_store`), and from the revoked list the entries whose certificate did
 * (`tidy_revoked_certs`, the CRL is rebuilt without them). As in Vault it runs in the background: the call
 * answers 202 at once and `tidy-status` reports progress and counts.
 */
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, duration } from '../../sdk/fields.js';
import type { StorageView } from '../../storage/view.js';
import { CERTS_PREFIX, type CertRecord, type PkiContext, REVOKED_PREFIX, type RevokedRecord } from './backend.js';
import { removeRevoked } from './crl.js';

const DEFAULT_SAFETY_BUFFER = 72 * 3600;

const tidyFields = z.object({
  tidy_cert_store: bool().optional(),
  tidy_revoked_certs: bool().optional(),
  safety_buffer: duration().optional(),
});

interface TidyStatus {
  state: 'Inactive' | 'Running' | 'Finished' | 'Error';
  safety_buffer: number;
  tidy_cert_store: boolean;
  tidy_revoked_certs: boolean;
  time_started: string | null;
  time_finished: string | null;
  cert_store_deleted_count: number;
  revoked_cert_deleted_count: number;
  error: string | null;
}

export class Tidier {
  status: TidyStatus = {
    state: 'Inactive', safety_buffer: 0, tidy_cert_store: false, tidy_revoked_certs: false, time_started: null,
    time_finished: null, cert_store_deleted_count: 0, revoked_cert_deleted_count: 0, error: null,
  };
  /** The run in progress (tests and cleanup wait for it). */
  running: Promise<void> | null = null;

  constructor(private readonly ctx: PkiContext) {}

  start(storage: StorageView, opts: { certStore: boolean; revoked: boolean; safetyBuffer: number }): void {
    if (this.running) throw badRequest('Tidy operation already in progress.');
    this.status = {
      state: 'Running', safety_buffer: opts.safetyBuffer, tidy_cert_store: opts.certStore, tidy_revoked_certs: opts.revoked,
      time_started: new Date().toISOString(), time_finished: null, cert_store_deleted_count: 0, revoked_cert_deleted_count: 0, error: null,
    };
    this.running = this.run(storage, opts)
      .then(() => { this.status.state = 'Finished'; })
      .catch((err) => {
        this.status.state = 'Error';
        this.status.error = err instanceof Error ? err.message.slice(0, 200) : 'tidy failed';
      })
      .finally(() => {
        this.status.time_finished = new Date().toISOString();
        this.running = null;
      });
  }

  private async run(storage: StorageView, opts: { certStore: boolean; revoked: boolean; safetyBuffer: number }): Promise<void> {
    const cutoff = Date.now() - opts.safetyBuffer * 1000;
    const expired = (pem: string) => new x509.X509Certificate(pem).notAfter.getTime() < cutoff;
    if (opts.certStore) {
      for (const key of await storage.list(CERTS_PREFIX)) {
        const record = await storage.getJSON<CertRecord>(CERTS_PREFIX + key);
        if (record && expired(record.certificate)) {
          await storage.delete(CERTS_PREFIX + key);
          this.status.cert_store_deleted_count++;
        }
      }
    }
    if (opts.revoked) {
      const gone: string[] = [];
      for (const key of await storage.list(REVOKED_PREFIX)) {
        const record = await storage.getJSON<RevokedRecord>(REVOKED_PREFIX + key);
        if (record && expired(record.certificate)) gone.push(key);
      }
      // A revoked certificate past its expiry is no longer needed in the store either.
      await removeRevoked(this.ctx, storage, gone);
      for (const key of gone) {
        if (await storage.get(CERTS_PREFIX + key)) {
          await storage.delete(CERTS_PREFIX + key);
          this.status.cert_store_deleted_count++;
        }
      }
      this.status.revoked_cert_deleted_count = gone.length;
    }
  }
}

async function tidy(tidier: Tidier, req: Request<z.infer<typeof tidyFields>>): Promise<Response> {
  const certStore = req.data.tidy_cert_store ?? false;
  const revoked = req.data.tidy_revoked_certs ?? false;
  if (!certStore && !revoked) throw badRequest('at least one of tidy_cert_store or tidy_revoked_certs must be true');
  tidier.start(req.storage, { certStore, revoked, safetyBuffer: req.data.safety_buffer ?? DEFAULT_SAFETY_BUFFER });
  return { status: 202, warnings: ['Tidy operation successfully started. Any information from the operation will be printed to Vault\'s server logs.'] };
}

export function pathTidy(tidier: Tidier): PathSpec[] {
  return [
    {
      pattern: 'tidy',
      fields: tidyFields,
      operations: { update: (req) => tidy(tidier, req) },
      help: 'Starts removing expired certificates (tidy_cert_store) and expired revoked entries '
        + '(tidy_revoked_certs) older than safety_buffer (default 72h); see tidy-status.',
    },
    {
      pattern: 'tidy-status',
      operations: { read: async () => ({ data: { ...tidier.status } }) },
      help: 'The state and counts of the last tidy run.',
    },
  ];
}
