/**
 * Stored ACL policies and the compiled ACL for a set of policy names. Compiling is cached per policy set and
 * dropped whenever any policy changes, so the request path never parses HCL.
 */
import { StorageView } from '../storage/view.js';
import { ACL } from './acl/acl.js';
import { DEFAULT_POLICY_TEXT, bindNamespace, isValidPolicyName, parsePolicy, type Policy } from './acl/policy.js';
import { badRequest } from './errors.js';

interface StoredPolicy {
  name: string;
  policy: string;
}

export class PolicyStore {
  private view!: StorageView;
  private readonly parsed = new Map<string, Policy | null>();
  private readonly acls = new Map<string, ACL>();

  async setup(view: StorageView): Promise<void> {
    this.view = view;
    this.parsed.clear();
    this.acls.clear();
    if (!(await view.get('default'))) await this.write('default', DEFAULT_POLICY_TEXT);
  }

  async list(): Promise<string[]> {
    return [...(await this.view.list('')), 'root'].sort();
  }

  async read(name: string): Promise<StoredPolicy | null> {
    const key = name.toLowerCase();
    if (key === 'root') return { name: 'root', policy: '' };
    if (!isValidPolicyName(key)) return null;
    return this.view.getJSON<StoredPolicy>(key);
  }

  async write(name: string, text: string): Promise<void> {
    const key = name.toLowerCase();
    if (key === 'root') throw badRequest('cannot update "root" policy');
    if (!isValidPolicyName(key)) throw badRequest(`invalid policy name "${name.slice(0, 64)}"`);
    const policy = await parsePolicy(key, text); // throws 400 on a bad policy
    await this.view.putJSON(key, { name: key, policy: text } satisfies StoredPolicy);
    this.parsed.set(key, policy);
    this.acls.clear();
  }

  async delete(name: string): Promise<void> {
    const key = name.toLowerCase();
    if (key === 'root' || key === 'default') throw badRequest(`cannot delete "${key}" policy`);
    await this.view.delete(key);
    this.parsed.delete(key);
    this.acls.clear();
  }

  private async load(name: string): Promise<Policy | null> {
    if (this.parsed.has(name)) return this.parsed.get(name)!;
    const stored = await this.read(name);
    const policy = stored && name !== 'root' ? await parsePolicy(name, stored.policy) : null;
    this.parsed.set(name, policy);
    return policy;
  }

  /**
   * The ACL for a token's policies; unknown policy names contribute nothing (deny by default). `namespace` fills
   * `{{kubernetes.namespace}}` in templated rules; without it those rules grant nothing.
   */
  async aclFor(names: string[], namespace?: string): Promise<ACL> {
    const cacheKey = namespace === undefined ? names.join('\n') : `${names.join('\n')}\n@${namespace}`;
    const cached = this.acls.get(cacheKey);
    if (cached) return cached;
    const acl = names.includes('root')
      ? ACL.root()
      : new ACL(
          (await Promise.all(names.map((n) => this.load(n))))
            .filter((p): p is Policy => p !== null)
            .map((p) => bindNamespace(p, namespace)),
        );
    this.acls.set(cacheKey, acl);
    return acl;
  }
}
