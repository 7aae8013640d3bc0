/**
 * Name policy of a role, as Vault's validateNames applies it to the common name and every DNS/email SAN:
 * allowed_domains with allow_bare_domains / allow_subdomains / allow_glob_domains, allow_localhost,
 * allow_any_name, enforce_hostnames, allow_wildcard_certificates (RFC 6125 wildcards in the left-most label
 * only); and the IP and URI SAN rules.
 */
import { isIP } from 'node:net';
import { badRequest } from '../../sdk/errors.js';
import { globMatch } from '../../shared/glob.js';

export interface NamePolicy {
  allowed_domains: string[];
  allow_bare_domains: boolean;
  allow_subdomains: boolean;
  allow_glob_domains: boolean;
  allow_any_name: boolean;
  allow_localhost: boolean;
  enforce_hostnames: boolean;
  allow_wildcard_certificates: boolean;
  allow_ip_sans: boolean;
  allowed_uri_sans: string[];
}

const LABEL = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9])';
/** Vault's hostnameRegex (after IDNA conversion, which coffer does not do: non-ASCII names are refused). */
export const HOSTNAME = new RegExp(`^(\\*\\.)?(${LABEL}\\.)*${LABEL}\\.?$`);
const LEFT_WILD_LABEL = /^(\*|\*[a-zA-Z0-9-]*[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*\*|[a-zA-Z0-9][a-zA-Z0-9-]*\*[a-zA-Z0-9-]*[a-zA-Z0-9])$/;

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const endsWith = (name: string, suffix: string) => name.toLowerCase().endsWith(suffix.toLowerCase());

/** True when one name passes the role's rules. */
function nameAllowed(policy: NamePolicy, name: string): boolean {
  let reduced = name;
  let emailDomain = name;
  let isEmail = false;
  let isWildcard = false;
  let wildcardLabel = '';
  if (name.includes('@')) {
    const parts = name.split('@');
    if (parts.length !== 2) return false;
    reduced = emailDomain = parts[1];
    isEmail = true;
  }
  if (reduced.includes('*')) {
    isWildcard = true;
    if (!policy.allow_wildcard_certificates) return false;
    if ((reduced.match(/\*/g) ?? []).length > 1) return false;
    const dot = reduced.indexOf('.');
    wildcardLabel = dot === -1 ? reduced : reduced.slice(0, dot);
    reduced = dot === -1 ? '' : reduced.slice(dot + 1);
    if (reduced.includes('*')) return false;
  }
  if (isEmail && isWildcard) return false;
  if (policy.enforce_hostnames) {
    if (reduced !== '' && !HOSTNAME.test(reduced)) return false;
    if (isWildcard && !LEFT_WILD_LABEL.test(wildcardLabel)) return false;
  }
  if (policy.allow_any_name) return true;

  if (policy.allow_localhost) {
    if (['localhost', 'localdomain'].some((l) => reduced === l || (isEmail && emailDomain === l))) return true;
    if (policy.allow_subdomains && ['localhost', 'localdomain'].some((l) => reduced.endsWith(`.${l}`) || (isWildcard && reduced === l))) {
      return true;
    }
  }
  for (const domain of policy.allowed_domains) {
    if (domain === '') continue;
    if (policy.allow_bare_domains && (eq(name, domain) || (isEmail && eq(emailDomain, domain)))) return true;
    if (policy.allow_subdomains && (endsWith(reduced, `.${domain}`) || (isWildcard && eq(reduced, domain)))) return true;
    if (policy.allow_glob_domains && domain.includes('*') && globMatch(domain, name)) return true;
  }
  return false;
}

/** The first name the role refuses, or undefined. */
export function firstRefused(policy: NamePolicy, names: string[]): string | undefined {
  return names.find((n) => !nameAllowed(policy, n));
}

/** Splits alt_names into DNS names and email addresses (Vault: anything with "@" is an email). */
export function splitAltNames(names: string[]): { dns: string[]; email: string[] } {
  const dns: string[] = [];
  const email: string[] = [];
  for (const n of names) {
    if (n.includes('@')) email.push(n);
    else if (HOSTNAME.test(n)) dns.push(n);
    else throw badRequest(`the value "${n.slice(0, 80)}" is not a valid DNS name or email address`);
  }
  return { dns, email };
}

export function checkIpSans(policy: Pick<NamePolicy, 'allow_ip_sans'>, ips: string[], source: 'the API' | 'CSR'): void {
  for (const ip of ips) if (!isIP(ip)) throw badRequest(`the value "${ip.slice(0, 80)}" is not a valid IP address`);
  if (ips.length && !policy.allow_ip_sans) {
    throw badRequest(`IP Subject Alternative Names are not allowed in this role, but was provided via ${source}`);
  }
}

export function checkUriSans(policy: Pick<NamePolicy, 'allowed_uri_sans'>, uris: string[], source: 'the API' | 'CSR'): void {
  if (uris.length === 0) return;
  if (policy.allowed_uri_sans.length === 0) {
    throw badRequest(`URI Subject Alternative Names are not allowed in this role, but were provided via ${source}`);
  }
  for (const uri of uris) {
    if (!policy.allowed_uri_sans.some((pattern) => globMatch(pattern, uri))) {
      throw badRequest(`URI Subject Alternative Names were provided via ${source} which are not valid for this role`);
    }
    let ok = false;
    try {
      ok = new URL(uri).protocol !== '';
    } catch {
      ok = false;
    }
    if (!ok) throw badRequest(`the provided URI Subject Alternative Name "${uri.slice(0, 80)}" is not a valid URI`);
  }
}
