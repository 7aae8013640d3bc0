/** Where a client token travels: `X-Vault-Token`, or `Authorization: Bearer` (as Vault accepts). */
export function tokenFromHeaders(headers: Record<string, string | string[] | undefined>): string | null {
  const direct = headers['x-vault-token'];
  if (typeof direct === 'string' && direct) return direct;
  const auth = headers['authorization'];
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return null;
}
