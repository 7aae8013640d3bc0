/**
 * The provider's connection to a coffer server for one Terraform run: a client (src/client, the only way the
 * provider reaches a server) holding a child token. Like the hashicorp/vault provider, it runs with a token
 * of its own whose TTL covers the run: renewed at half-life while the process lives, revoked when Terraform
 * shuts the provider down, so nothing issued under it outlives the run by accident.
 */
import type { CofferClient, Envelope } from '../src/client/index.js';
import { describeFailure, type Operation } from './errors.js';
import type { AttributePath, DiagnosticsError } from './protocol/types.js';

export interface ChildToken {
  ttlSeconds: number;
}

export class Session {
  private renewTimer: NodeJS.Timeout | null = null;
  private revoked = false;
  private policiesCache: string[] | null;

  constructor(
    readonly client: CofferClient,
    readonly address: string,
    policies: string[] | null,
    private readonly child: ChildToken | null,
    private readonly log: (line: string) => void,
  ) {
    this.policiesCache = policies;
    if (child) this.scheduleRenewal(child.ttlSeconds);
  }

  /** Whether the provider runs with a child token of its own (revoked, with its children, when the run ends). */
  get runsWithChildToken(): boolean {
    return this.child !== null;
  }

  /** Runs one client call, turning its failure into diagnostics about `op` on `path`. */
  async run<T>(op: Operation, path: string, fn: (client: CofferClient) => Promise<T>, attribute?: AttributePath): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      throw await this.failure(err, op, path, attribute);
    }
  }

  /** Diagnostics for a failed client call doing `op` on `path`. */
  failure(err: unknown, op: Operation, path: string, attribute?: AttributePath): Promise<DiagnosticsError> {
    return describeFailure(err, op, path, { address: this.address, policies: () => this.policies() }, attribute);
  }

  read(path: string, query?: Record<string, string | number | undefined>, attribute?: AttributePath): Promise<Envelope | null> {
    return this.run('read', path, (c) => c.read(path, query), attribute);
  }

  write(op: Operation, path: string, body: Record<string, unknown>, attribute?: AttributePath): Promise<Envelope | null> {
    return this.run(op, path, (c) => c.write(path, body), attribute);
  }

  /** The token's policies, looked up once (for permission-denied messages). */
  async policies(): Promise<string[] | null> {
    if (this.policiesCache) return this.policiesCache;
    const res = await this.client.read<{ policies?: string[] }>('auth/token/lookup-self');
    this.policiesCache = res?.data?.policies ?? null;
    return this.policiesCache;
  }

  private scheduleRenewal(ttlSeconds: number): void {
    if (this.revoked) return;
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(1, ttlSeconds / 2) * 1000);
    // The timer alone must not keep the process alive after Terraform is done with it.
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (!this.child || this.revoked) return;
    try {
      const res = await this.client.write('auth/token/renew-self', { increment: `${this.child.ttlSeconds}s` });
      this.scheduleRenewal(res?.auth?.lease_duration || this.child.ttlSeconds);
    } catch (err) {
      this.log(`[WARN] renewing the provider's child token failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      this.scheduleRenewal(Math.max(10, this.child.ttlSeconds / 4));
    }
  }

  /** StopProvider: no more background work. */
  stop(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  /** End of the run: revoke the child token (and with it every lease and token issued under it). */
  async close(): Promise<void> {
    this.stop();
    if (!this.child || this.revoked) return;
    this.revoked = true;
    try {
      await this.client.write('auth/token/revoke-self', {});
    } catch (err) {
      this.log(`[WARN] revoking the provider's child token failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
}
