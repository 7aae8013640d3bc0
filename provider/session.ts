/**
 * The provider's connection to a coffer server for one Terraform run: a client (src/client, the only way the
 * provider reaches a server) holding a child token. Like the hashicorp/vault provider, it runs with a token
 * of its own whose TTL covers the run: renewed at half-life while the process lives, revoked when Terraform
 * shuts the provider down, so nothing issued under it outlives the run by accident.
 */
import { CofferApiError, type CofferClient, type Envelope } from '../src/client/index.js';
import { describeFailure, RunWideFailure, type Action, type Operation } from './errors.js';
import { DiagnosticsError, type AttributePath } from './protocol/types.js';

export interface ChildToken {
  ttlSeconds: number;
}

export class Session {
  private renewTimer: NodeJS.Timeout | null = null;
  private revoked = false;
  private policiesCache: string[] | null;
  /** The run-wide causes already reported in full. */
  private readonly reported = new Set<RunWideFailure['kind']>();

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

  /** Runs one client call, turning its failure into diagnostics about `action`. */
  async run<T>(action: Action, fn: (client: CofferClient) => Promise<T>, attribute?: AttributePath): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      throw await this.failure(err, action, attribute);
    }
  }

  /**
   * Diagnostics for a failed client call doing `action`. A cause that fails every call of the run (the server
   * went away, the token stopped working) is told in full once; the other calls it fails are marked briefly, so
   * a plan with hundreds of data sources does not print hundreds of copies of the same explanation.
   */
  async failure(err: unknown, action: Action, attribute?: AttributePath): Promise<DiagnosticsError> {
    const described = await describeFailure(err, action, { address: this.address, policies: () => this.policies(), tokenValid: () => this.tokenValid() }, attribute);
    if (!(described instanceof RunWideFailure)) return described;
    if (!this.reported.has(described.kind)) {
      this.reported.add(described.kind);
      return described;
    }
    return new DiagnosticsError(described.brief(action, attribute));
  }

  read(path: string, query?: Record<string, string | number | undefined>, attribute?: AttributePath): Promise<Envelope | null> {
    return this.run({ op: 'read', path }, (c) => c.read(path, query), attribute);
  }

  write(op: Operation, path: string, body: Record<string, unknown>, attribute?: AttributePath): Promise<Envelope | null> {
    return this.run({ op, path }, (c) => c.write(path, body), attribute);
  }

  /** Whether the token still passes its own lookup now: false once it was revoked or expired. */
  async tokenValid(): Promise<boolean | null> {
    try {
      await this.client.read('auth/token/lookup-self');
      return true;
    } catch (err) {
      return err instanceof CofferApiError && err.status === 403 ? false : null;
    }
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
