/**
 * AppRole's stored state. Secret IDs are never stored: only an HMAC of each, under a key created per mount and
 * kept in the mount's (barrier-encrypted) storage, so a copy of the database yields no usable secret ID.
 *
 *   salt                          the HMAC key (32 random bytes)
 *   role/<name>                   AppRoleRole
 *   role_id/<hmac(role_id)>       name of the role holding that role ID
 *   secret_id/<name>/<hmac(id)>   SecretIdEntry
 *   accessor/<name>/<accessor>    hmac(id): the accessor index (accessors are listed in clear, like Vault)
 *
 * Changes to one secret ID (use counts, destroy) run under a per-entry lock so concurrent logins cannot both
 * spend its last use.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { CofferError } from '../../sdk/errors.js';
import { KeyedMutex } from '../../shared/mutex.js';
import type { StorageOp } from '../../storage/types.js';
import type { StorageView } from '../../storage/view.js';
import type { TokenParams } from '../tokenutil.js';

export interface AppRoleRole extends TokenParams {
  role_id: string;
  bind_secret_id: boolean;
  secret_id_bound_cidrs: string[];
  secret_id_num_uses: number;
  secret_id_ttl: number;
  local_secret_ids: boolean;
}

export interface SecretIdEntry {
  secret_id_accessor: string;
  /** Uses left; 0 = unlimited. */
  secret_id_num_uses: number;
  secret_id_ttl: number;
  creation_time: string;
  /** ISO time, or the zero time when the secret ID never expires (as Vault prints it). */
  expiration_time: string;
  last_updated_time: string;
  metadata: Record<string, string>;
  cidr_list: string[];
  token_bound_cidrs: string[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

const expired = (e: SecretIdEntry, now = Date.now()) => e.expiration_time !== ZERO_TIME && Date.parse(e.expiration_time) <= now;

export class AppRoleStore {
  private key: Buffer | null = null;
  private readonly locks = new KeyedMutex();

  constructor(private readonly view: StorageView) {}

  async load(): Promise<void> {
    let key = await this.view.get('salt');
    if (!key) {
      key = randomBytes(32);
      await this.view.put('salt', key);
    }
    this.key = key;
  }

  wipe(): void {
    this.key?.fill(0);
    this.key = null;
  }

  hmac(value: string): string {
    return createHmac('sha256', this.key!).update(value).digest('hex');
  }

  async roleNameById(roleId: string): Promise<string | null> {
    return (await this.view.getText(`role_id/${this.hmac(roleId)}`)) ?? null;
  }

  async setRoleId(name: string, roleId: string, previous: string | undefined): Promise<void> {
    const owner = await this.roleNameById(roleId);
    if (owner !== null && owner !== name) throw new CofferError(400, 'role_id already in use');
    const ops: StorageOp[] = [{ kind: 'put', key: `role_id/${this.hmac(roleId)}`, value: Buffer.from(name) }];
    if (previous && previous !== roleId) ops.push({ kind: 'delete', key: `role_id/${this.hmac(previous)}` });
    await this.view.transaction(ops);
  }

  async deleteRole(name: string, roleId: string): Promise<void> {
    const ops: StorageOp[] = [{ kind: 'delete', key: `role_id/${this.hmac(roleId)}` }];
    for (const h of await this.view.list(`secret_id/${name}/`)) ops.push({ kind: 'delete', key: `secret_id/${name}/${h}` });
    for (const a of await this.view.list(`accessor/${name}/`)) ops.push({ kind: 'delete', key: `accessor/${name}/${a}` });
    await this.view.transaction(ops);
  }

  /** Stores a new secret ID; refuses one that is already registered for the role. */
  async createSecretId(name: string, secretId: string, entry: SecretIdEntry): Promise<void> {
    const h = this.hmac(secretId);
    await this.locks.run(`${name}/${h}`, async () => {
      if (await this.view.get(`secret_id/${name}/${h}`)) throw new CofferError(400, 'SecretID is already registered');
      await this.view.transaction([
        { kind: 'put', key: `secret_id/${name}/${h}`, value: Buffer.from(JSON.stringify(entry)) },
        { kind: 'put', key: `accessor/${name}/${entry.secret_id_accessor}`, value: Buffer.from(h) },
      ]);
    });
  }

  private async readLive(name: string, h: string): Promise<SecretIdEntry | null> {
    const entry = await this.view.getJSON<SecretIdEntry>(`secret_id/${name}/${h}`);
    if (entry && expired(entry)) {
      await this.remove(name, h, entry);
      return null;
    }
    return entry;
  }

  private remove(name: string, h: string, entry: SecretIdEntry): Promise<void> {
    return this.view.transaction([
      { kind: 'delete', key: `secret_id/${name}/${h}` },
      { kind: 'delete', key: `accessor/${name}/${entry.secret_id_accessor}` },
    ]);
  }

  async lookup(name: string, secretId: string): Promise<SecretIdEntry | null> {
    const h = this.hmac(secretId);
    return this.locks.run(`${name}/${h}`, () => this.readLive(name, h));
  }

  private async hmacOfAccessor(name: string, accessor: string): Promise<string | null> {
    if (!/^[\w-]{1,64}$/.test(accessor)) return null;
    return this.view.getText(`accessor/${name}/${accessor}`);
  }

  async lookupByAccessor(name: string, accessor: string): Promise<SecretIdEntry | null> {
    const h = await this.hmacOfAccessor(name, accessor);
    return h ? this.locks.run(`${name}/${h}`, () => this.readLive(name, h)) : null;
  }

  async destroy(name: string, secretId: string): Promise<void> {
    const h = this.hmac(secretId);
    await this.locks.run(`${name}/${h}`, async () => {
      const entry = await this.view.getJSON<SecretIdEntry>(`secret_id/${name}/${h}`);
      if (entry) await this.remove(name, h, entry);
    });
  }

  async destroyByAccessor(name: string, accessor: string): Promise<boolean> {
    const h = await this.hmacOfAccessor(name, accessor);
    if (!h) return false;
    await this.locks.run(`${name}/${h}`, async () => {
      const entry = await this.view.getJSON<SecretIdEntry>(`secret_id/${name}/${h}`);
      if (entry) await this.remove(name, h, entry);
    });
    return true;
  }

  /**
   * Spends one use of a secret ID, atomically with respect to other logins: returns the entry as it was before
   * this use, or null when it does not exist (any more). The last use deletes it.
   */
  async consume(name: string, secretId: string, check: (entry: SecretIdEntry) => void): Promise<SecretIdEntry | null> {
    const h = this.hmac(secretId);
    return this.locks.run(`${name}/${h}`, async () => {
      const entry = await this.readLive(name, h);
      if (!entry) return null;
      check(entry);
      if (entry.secret_id_num_uses === 1) await this.remove(name, h, entry);
      else if (entry.secret_id_num_uses > 1) {
        await this.view.putJSON(`secret_id/${name}/${h}`, {
          ...entry,
          secret_id_num_uses: entry.secret_id_num_uses - 1,
          last_updated_time: new Date().toISOString(),
        });
      }
      return entry;
    });
  }

  /** Accessors of the role's live secret IDs (expired ones are removed on the way). */
  async accessors(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const accessor of await this.view.list(`accessor/${name}/`)) {
      if (await this.lookupByAccessor(name, accessor)) out.push(accessor);
    }
    return out;
  }
}
