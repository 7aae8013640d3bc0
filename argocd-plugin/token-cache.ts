/**
 * The login token cache. Argo CD runs the plugin for every render of every application; logging in each time
 * would create a token per render. As AVP does, the token from a login is kept in a file and reused — here one
 * file per identity (server address, auth method, mount and role), written with mode 0600 in a 0700 directory,
 * and only until shortly before the token's TTL runs out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** A cached token is given up this long before it expires, so that it does not expire in the middle of a run. */
export const EXPIRY_MARGIN_MS = 10_000;

const entrySchema = z.object({
  token: z.string().min(1),
  /** Epoch milliseconds; null for a token without TTL. */
  expiresAt: z.number().nullable(),
});

export type CachedToken = z.infer<typeof entrySchema>;

export class TokenCache {
  constructor(private readonly dir: string) {}

  /** The file of one identity: a hash, so that role ids and paths do not appear in file names. */
  fileFor(identity: string[]): string {
    return path.join(this.dir, `${createHash('sha256').update(identity.join('\u0000')).digest('hex')}.json`);
  }

  /** The cached token of `identity` if it is still valid for a while; files others could read are ignored. */
  get(identity: string[], now = Date.now()): string | undefined {
    const file = this.fileFor(identity);
    try {
      const st = statSync(file);
      if (!st.isFile() || (st.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid())) return undefined;
      const entry = entrySchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!entry.success) return undefined;
      if (entry.data.expiresAt !== null && entry.data.expiresAt - EXPIRY_MARGIN_MS <= now) return undefined;
      return entry.data.token;
    } catch {
      return undefined;
    }
  }

  /** Stores a token with its TTL in seconds (0: none), atomically (write then rename). */
  put(identity: string[], token: string, ttlSeconds: number, now = Date.now()): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const file = this.fileFor(identity);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const entry: CachedToken = { token, expiresAt: ttlSeconds > 0 ? now + ttlSeconds * 1000 : null };
    try {
      writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  delete(identity: string[]): void {
    rmSync(this.fileFor(identity), { force: true });
  }
}
