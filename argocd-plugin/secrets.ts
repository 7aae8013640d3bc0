/**
 * Reading the secrets a run needs: each distinct (path, version) once, several at a time, through the typed
 * client; then answering the placeholder engine's lookups from those answers with AVP's KV v1 / v2 rules (with
 * v2, paths are written `kv/data/x` and the key/value pairs are under `data.data`).
 */
import type { CofferClient } from '../src/client/client.js';
import { CofferConnectionError } from '../src/client/errors.js';
import type { Session } from './auth.js';
import { type KvVersion, type Read, type SecretLookup, SecretError, readId } from './placeholders.js';
import { type ValueMap, fromServer, isMap } from './values.js';

/** Reads in flight at once: enough to hide the round trip, few enough not to flood the server. */
export const READ_CONCURRENCY = 16;

/** The server's answer to one read. */
export type ReadAnswer = { status: number; data: Record<string, unknown> | null; errors: string[] };

/** The run cannot go on: the server is unreachable. */
export class FatalReadError extends Error {}

/**
 * Reads secrets READ_CONCURRENCY at a time, each distinct (path, version) once, as they are added: the run adds
 * the reads of each input file as soon as it is parsed, so the requests overlap the parsing of the next files.
 */
export class SecretFetcher {
  private readonly queue: Read[] = [];
  private readonly added = new Map<string, Read>();
  private readonly answers = new Map<string, ReadAnswer>();
  private active = 0;
  private failure: unknown = null;
  private client: Promise<CofferClient> | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly getClient: () => Promise<CofferClient>,
    private readonly concurrency = READ_CONCURRENCY,
  ) {}

  add(reads: Read[]): void {
    for (const r of reads) {
      const id = readId(r.path, r.version);
      if (this.added.has(id)) continue;
      this.added.set(id, r);
      this.queue.push(r);
    }
    this.pump();
  }

  /** Every read added so far. */
  reads(): Read[] {
    return [...this.added.values()];
  }

  /** Resolves when every read added has its answer; rejects with the first fatal failure. */
  async done(): Promise<Map<string, ReadAnswer>> {
    if (this.active > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.failure !== null) throw this.failure;
    return this.answers;
  }

  private pump(): void {
    while (this.failure === null && this.active < this.concurrency && this.queue.length > 0) void this.read(this.queue.shift()!);
    if (this.active === 0 && (this.queue.length === 0 || this.failure !== null)) for (const resolve of this.idle.splice(0)) resolve();
  }

  private async read(read: Read): Promise<void> {
    this.active++;
    try {
      this.client ??= this.getClient();
      const client = await this.client;
      let res;
      try {
        res = await client.raw('GET', read.path, { query: read.version === undefined ? undefined : { version: read.version } });
      } catch (err) {
        throw err instanceof CofferConnectionError ? new FatalReadError(err.message) : err;
      }
      const data = isMap(res.json?.data) ? (res.json.data as Record<string, unknown>) : null;
      const errors = Array.isArray(res.json?.errors) ? (res.json.errors as unknown[]).map(String) : [];
      this.answers.set(readId(read.path, read.version), { status: res.status, data, errors });
    } catch (err) {
      this.failure ??= err;
    } finally {
      this.active--;
      this.pump();
    }
  }
}

export function fetchSecrets(client: CofferClient, reads: Read[], concurrency = READ_CONCURRENCY): Promise<Map<string, ReadAnswer>> {
  const fetcher = new SecretFetcher(async () => client, concurrency);
  fetcher.add(reads);
  return fetcher.done();
}

/**
 * fetchSecrets with the session's token. A token taken from the cache may have been revoked since it was cached:
 * when reads are denied and the server no longer accepts the token, log in again and read those once more.
 */
export async function fetchWithSession(session: Session, work: Read[] | SecretFetcher): Promise<Map<string, ReadAnswer>> {
  let fetcher = work as SecretFetcher;
  if (Array.isArray(work)) {
    fetcher = new SecretFetcher(() => session.client());
    fetcher.add(work);
  }
  const answers = await fetcher.done();
  const denied = fetcher.reads().filter((r) => answers.get(readId(r.path, r.version))?.status === 403);
  if (session.fromCache && denied.length > 0 && !(await session.tokenValid())) {
    for (const [id, a] of await fetchSecrets(await session.refresh(), denied)) answers.set(id, a);
  }
  return answers;
}

/** The key/value pairs of one answer, as AVP's Vault backend interprets it for a KV version. */
function interpret(answer: ReadAnswer | undefined, path: string, version: string | undefined, kv: KvVersion): ValueMap {
  if (!answer) throw new SecretError(`path ${path} was not read`);
  if (answer.status === 403) throw new SecretError(`permission denied reading ${path}`);
  const notFound = answer.status === 404 && (answer.data === null || kv === '1');
  if (notFound) {
    throw new SecretError(version === undefined || kv === '1' ? `could not find secrets at path ${path}` : `could not find secrets at path ${path} with version ${version}`, true);
  }
  if (answer.status >= 400) {
    throw new SecretError(`reading ${path}: the server answered ${answer.status}${answer.errors.length ? ` (${answer.errors.join('; ')})` : ''}`);
  }
  const data = answer.data ?? {};
  if (kv === '1') return fromServer(data) as ValueMap;
  if ('data' in data) {
    if (isMap(data.data)) return fromServer(data.data) as ValueMap;
    throw new SecretError(`the secret version ${version ?? '(latest)'} for path ${path} is empty - is this version of the secret deleted?`, true);
  }
  if (Object.keys(data).length === 0) throw new SecretError(`the path ${path} is empty - did you forget to include /data/ in the path for KV v2?`);
  throw new SecretError(`could not get data from ${path}: check that it is a KV v2 engine (or set the KV version to 1)`);
}

/** A lookup over fetched answers; each answer is converted once per KV version. */
export function lookupFrom(answers: Map<string, ReadAnswer>): SecretLookup {
  const memo = new Map<string, ValueMap | SecretError>();
  return (path, version, kv) => {
    const id = `${kv}\u0000${readId(path, version)}`;
    let hit = memo.get(id);
    if (!hit) {
      try {
        hit = interpret(answers.get(readId(path, version)), path, version, kv);
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        hit = err;
      }
      memo.set(id, hit);
    }
    if (hit instanceof SecretError) throw hit;
    return hit;
  };
}
