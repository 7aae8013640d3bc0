/**
 * Stages "audit the request" and "audit the response": what the audit entries say about one request, filled in
 * as the pipeline learns it, and written fail-closed. A request refused before its request entry was written is
 * recorded too (with the error), so that probing leaves a trace.
 */
import type { AuditRequestInput } from '../audit/entry.js';
import type { Operation, Response } from '../../sdk/backend.js';
import type { TokenEntry } from '../tokens/store.js';
import type { CoreResponse, LogicalRequest, PipelineHost, Route } from './types.js';

/** `sys/audit/:path`: disabling a device there may proceed when no device can record it (see record). */
const AUDIT_DEVICE_PATH = /^sys\/audit\/.+/;

export class AuditTrail {
  /** Null while the request is not (yet) on record: before its mount is known, or with no device enabled. */
  private input: AuditRequestInput | null = null;
  private requestWritten = false;
  private disablesAuditDevice = false;

  constructor(
    private readonly core: PipelineHost,
    private readonly requestId: string,
  ) {}

  /**
   * Puts the request on record from here on, refused or not. Health checks are not audited at all (as in Vault):
   * no request line, no response line, no fail-closed. With no device enabled there is nothing to prepare.
   */
  open(request: LogicalRequest, route: Route): void {
    if (this.core.audit?.hasDevices() !== true || request.path === 'sys/health') return;
    const { entry } = route.mount;
    this.input = {
      requestId: this.requestId,
      operation: request.operation,
      path: request.path,
      mountType: entry.type,
      mountPoint: entry.path,
      clientToken: request.clientToken ?? undefined,
      remoteAddress: request.remoteAddr,
    };
  }

  setToken(entry: TokenEntry): void {
    if (!this.input) return;
    Object.assign(this.input, {
      accessor: entry.accessor,
      displayName: entry.display_name,
      policies: entry.policies,
      tokenPolicies: entry.policies,
      metadata: entry.meta,
      tokenType: 'service',
    });
  }

  setData(data: Record<string, unknown>): void {
    if (this.input) this.input.data = data;
  }

  setOperation(operation: Operation): void {
    if (this.input) this.input.operation = operation;
  }

  /** Writes the request entry (fail closed). */
  async recordRequest(request: LogicalRequest, operation: Operation): Promise<void> {
    const { path } = request;
    this.disablesAuditDevice = operation === 'delete' && AUDIT_DEVICE_PATH.test(path) && this.core.audit?.has(path.slice('sys/audit/'.length)) === true;
    const input = this.input;
    if (!input) return;
    this.requestWritten = true;
    await this.record(() => this.core.audit!.logRequest(input));
  }

  /** Writes the response entry of an answered request (fail closed). */
  async recordResponse(result: CoreResponse, response: Response | null, wrapped: Response | null): Promise<void> {
    if (!this.input) return;
    const input = {
      ...this.input,
      status: result.status,
      // A wrapped response is audited with its content (hashed like any other) and the wrapping token.
      responseData: response?.data ?? null,
      auth: response?.auth ?? null,
      wrapInfo: (wrapped ?? response)?.wrapInfo ?? null,
      warnings: response?.warnings ?? null,
    };
    // `sys/seal` closed the broker on its way: its response has no device left to go to.
    await this.record(async () => this.core.audit?.logResponse(input));
  }

  /**
   * Records a failed request: its response entry with the error, preceded by its request entry when it was refused
   * before that was written (unknown token, ACL, sudo, bad input), as Vault does.
   */
  async recordFailure(status: number, error: string | undefined): Promise<void> {
    const input = this.input;
    if (!input) return;
    const recordRefusal = !this.requestWritten && status < 500;
    if (recordRefusal) await this.core.audit?.logRequest({ ...input, error });
    if (this.requestWritten || recordRefusal) await this.record(() => this.core.audit!.logResponse({ ...input, status, error }));
  }

  /**
   * Writes an audit entry, failing closed. The one exception is disabling an enabled audit device: when no
   * device can record (the only device's disk is full or its path gone) the operator must still be able to
   * remove the broken device, as Vault allows, so that request goes through and the server log says so.
   */
  private async record(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!this.disablesAuditDevice) throw err;
      this.core.logger.warn('audit: no device could record a request that disables an audit device; it proceeds so a broken device can be removed');
    }
  }
}
