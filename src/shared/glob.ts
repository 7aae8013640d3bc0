/** Glob matching shared by engines. */

/** go-glob semantics (Vault's strutil.StrListContainsGlob, the PKI engine's glob domains and URI SANs): `*` matches any run of characters. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  if (!value.startsWith(parts[0])) return false;
  let pos = parts[0].length;
  for (let i = 1; i < parts.length - 1; i++) {
    const idx = value.indexOf(parts[i], pos);
    if (idx === -1) return false;
    pos = idx + parts[i].length;
  }
  const last = parts[parts.length - 1];
  return value.length - last.length >= pos && value.endsWith(last);
}

