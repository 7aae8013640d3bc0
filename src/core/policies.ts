/**
 * Stored ACL policies and the compiled ACL for a set of policy names. Compiling is cached per policy set and
 * dropped whenever any policy changes, so the request path never parses HCL.
 */
import { StorageView } from '../storage/view.js';
import { ACL } from './acl/acl.js';
import { DEFAULT_POLICY_TEXT, RESPONSE_WRAPPING_POLICY, RESPONSE_WRAPPING_POLICY_TEXT, bindNamespace, isValidPolicyName, normalizePolicyName, parsePolicy, type Policy } from './acl/policy.js';
import { badRequest } from '../sdk/errors.js';

interface StoredPolicy {
  name: string;
  policy: string;
}

/** A policy set compiled once without a namespace, and once per namespace it was used with (when templated). */
interface CompiledSet {
  policies: Policy[];
  unbound: ACL;
  templated: boolean;
  bound: Map<string, ACL>;
}

const MAX_BOUND_NAMESPACES = 1024;

export class PolicyStore {
  private view!: StorageView;
  private readonly parsed = new Map<string, Policy | null>();
  private readonly acls = new Map<string, CompiledSet>();

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
    const key = normalizePolicyName(name);
    if (key === 'root') return { name: 'root', policy: '' };
    if (key === RESPONSE_WRAPPING_POLICY) return { name: key, policy: RESPONSE_WRAPPING_POLICY_TEXT };
    if (!isValidPolicyName(key)) return null;
    return this.view.getJSON<StoredPolicy>(key);
  }

  async write(name: string, text: string): Promise<void> {
    const key = normalizePolicyName(name);
    if (key === '') throw badRequest('policy name must be provided');
    if (key === 'root' || key === RESPONSE_WRAPPING_POLICY) throw badRequest(`cannot update "${key}" policy`);
    if (!isValidPolicyName(key)) {
      throw badRequest(`invalid policy name "${key.slice(0, 64)}": only letters, digits, ".", "_" and "-" are allowed, and not ".."`);
    }
    const policy = await parsePolicy(key, text); // throws 400 on a bad policy
    await this.view.putJSON(key, { name: key, policy: text } satisfies StoredPolicy);
    this.parsed.set(key, policy);
    this.acls.clear();
  }

  async delete(name: string): Promise<void> {
    const key = normalizePolicyName(name);
    if (key === 'root' || key === 'default' || key === RESPONSE_WRAPPING_POLICY) throw badRequest(`cannot delete "${key}" policy`);
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
    const key = names.join('\n');
    let set = this.acls.get(key);
    if (!set) {
      const policies = names.includes('root')
        ? null
        : (await Promise.all(names.map((n) => this.load(n)))).filter((p): p is Policy => p !== null);
      set = {
        policies: policies ?? [],
        unbound: policies ? new ACL(policies.map((p) => bindNamespace(p, undefined))) : ACL.root(),
        templated: policies?.some((p) => p.paths.some((rule) => rule.templated)) ?? false,
        bound: new Map(),
      };
      this.acls.set(key, set);
    }
    if (namespace === undefined || !set.templated) return set.unbound;
    let acl = set.bound.get(namespace);
    if (!acl) {
      // Namespaces come from requests: bound the cache so that a token holder cannot grow it without limit.
      if (set.bound.size >= MAX_BOUND_NAMESPACES) set.bound.clear();
      acl = new ACL(set.policies.map((p) => bindNamespace(p, namespace)));
      set.bound.set(namespace, acl);
    }
    return acl;
  }
}
