/**
 * Vault's glob (go-glob, strutil.StrListContainsGlob): `*` matches any run of characters, everything else matches
 * itself. No other metacharacters, so a value is never a regex. Used for role bounds of the auth methods, the
 * database engine's `allowed_roles`, and the PKI engine's glob domains and URI SANs.
 */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!value.startsWith(first) || value.length < first.length + last.length || !value.endsWith(last)) return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const at = value.indexOf(part, pos);
    if (at === -1 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

/** True when any pattern of the list matches. */
export const anyGlob = (patterns: string[], value: string) => patterns.some((p) => globMatch(p, value));
