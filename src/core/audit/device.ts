/**
 * Audit devices: sinks for formatted audit lines. Only the `file` type exists (like Vault's file device, with
 * the `stdout` and `discard` keywords). A device only writes; hashing and formatting live in the broker.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CofferError } from '../../sdk/errors.js';

export interface AuditDevice {
  readonly type: string;
  /** Mount-like path of the device, with a trailing slash (`file/`). */
  readonly path: string;
  /** Options as given at enable time. */
  readonly options: Readonly<Record<string, string>>;
  /** Per-device HMAC key. */
  readonly salt: Buffer;
  /** When true, entries are written without hashing. */
  readonly logRaw: boolean;
  /** When false, token accessors are written in the clear. */
  readonly hmacAccessor: boolean;
  /** Replace `keys`/`key_info` of list responses by their counts. */
  readonly elideListResponses: boolean;
  /** Prepares the sink (creates/opens the file). Rejects when the sink is unusable. */
  open(): Promise<void>;
  /** Writes one entry (a JSON document without a trailing newline). Rejects when the entry was not recorded. */
  log(line: string): Promise<void>;
  /** Closes and re-opens the sink (SIGHUP, log rotation). */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** The validated settings of a file audit device. */
export interface FileDeviceConfig {
  /** A filesystem path, or the keywords `stdout` / `discard`. */
  filePath: string;
  logRaw: boolean;
  hmacAccessor: boolean;
  elideListResponses: boolean;
  /** File mode bits; 0 means "create with 0600 and never chmod" (Vault's `mode=0000`). */
  mode: number;
  prefix: string;
}

const KNOWN_FILE_OPTIONS = new Set([
  'file_path',
  'path', // legacy alias of file_path accepted by Vault
  'log_raw',
  'hmac_accessor',
  'mode',
  'format',
  'prefix',
  'elide_list_responses',
  'skip_test', // Vault's: no test entry at enable time
]);

/** Go's strconv.ParseBool, which Vault uses for device options. */
export function parseBoolOption(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw new CofferError(400, `option "${name}" must be a boolean, got "${raw}"`);
}

/** Validates the options of a `file` device; throws a 400 CofferError naming the bad option. */
export function parseFileDeviceOptions(options: Record<string, string>): FileDeviceConfig {
  for (const [key, value] of Object.entries(options)) {
    if (!KNOWN_FILE_OPTIONS.has(key)) throw new CofferError(400, `unsupported option "${key}" for audit device type "file"`);
    if (typeof value !== 'string') throw new CofferError(400, `option "${key}" must be a string`);
  }
  const filePath = options.file_path || options.path;
  if (!filePath) throw new CofferError(400, 'file_path is required');
  if (filePath.includes('\0')) throw new CofferError(400, 'file_path is invalid');

  const format = options.format ?? 'json';
  if (format !== 'json' && format !== '') throw new CofferError(400, `unsupported format "${format}": only "json" is supported`);

  let mode = 0o600;
  if (options.mode !== undefined && options.mode !== '') {
    if (!/^[0-7]{1,4}$/.test(options.mode)) throw new CofferError(400, `option "mode" must be an octal string such as "0600", got "${options.mode}"`);
    mode = parseInt(options.mode, 8);
    if (mode & 0o7111) throw new CofferError(400, `option "mode" must not set executable or special bits, got "${options.mode}"`);
  }

  return {
    filePath,
    logRaw: parseBoolOption('log_raw', options.log_raw, false),
    hmacAccessor: parseBoolOption('hmac_accessor', options.hmac_accessor, true),
    elideListResponses: parseBoolOption('elide_list_responses', options.elide_list_responses, false),
    mode,
    prefix: options.prefix ?? '',
  };
}

/**
 * `mkdir -p` with mode 0700 for the missing components (Vault creates the log's directory too). Written by hand
 * because `fs.mkdir({recursive: true})` can spin forever on filesystems such as /proc that answer ENOENT to a
 * mkdir under an existing directory.
 */
async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      const st = await fsp.stat(current);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const parent = path.dirname(current);
      if (parent === current) throw err;
      missing.push(current);
      current = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Appends one line per entry to a file (kept open). Before each write it checks that `file_path` still names
 * the open file; if the file was moved or deleted it is re-created at `file_path` (so rotation works without a
 * SIGHUP), and if that is impossible (the path is now a directory, its parent is a regular file, the disk
 * refuses...) the write rejects, which lets the broker fail closed.
 */
export class FileAuditDevice implements AuditDevice {
  readonly type = 'file';
  readonly config: FileDeviceConfig;
  private handle: FileHandle | null = null;
  private identity: { dev: number; ino: number } | null = null;
  private closed = false;
  /** Serializes open/write/reopen/close so lines never interleave and the identity check is not raced. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    readonly options: Readonly<Record<string, string>>,
    readonly salt: Buffer,
  ) {
    this.config = parseFileDeviceOptions({ ...options });
  }

  get logRaw() { return this.config.logRaw; }
  get hmacAccessor() { return this.config.hmacAccessor; }
  get elideListResponses() { return this.config.elideListResponses; }

  private get sink(): 'stdout' | 'discard' | 'file' {
    const p = this.config.filePath;
    return p === 'stdout' ? 'stdout' : p === 'discard' ? 'discard' : 'file';
  }

  private enqueue<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  open(): Promise<void> {
    return this.enqueue(async () => {
      this.closed = false;
      await this.openFile();
    });
  }

  log(line: string): Promise<void> {
    const data = this.config.prefix + line + '\n';
    return this.enqueue(async () => {
      if (this.closed) throw new Error('audit device is closed');
      switch (this.sink) {
        case 'discard':
          return;
        case 'stdout':
          await new Promise<void>((resolve, reject) => {
            process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
          });
          return;
        case 'file':
          await this.ensureCurrent();
          await this.handle!.appendFile(data, 'utf8');
          return;
      }
    });
  }

  reopen(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      await this.closeFile();
      await this.openFile();
    });
  }

  close(): Promise<void> {
    return this.enqueue(async () => {
      this.closed = true;
      await this.closeFile();
    });
  }

  private async openFile(): Promise<void> {
    if (this.sink !== 'file') return;
    const file = this.config.filePath;
    await ensureDir(path.dirname(path.resolve(file)));
    const createMode = this.config.mode || 0o600;
    // 'a' = O_WRONLY | O_APPEND | O_CREAT; a directory or an unwritable path rejects here.
    const handle = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, createMode);
    try {
      const st = await handle.stat();
      if (st.isDirectory()) throw Object.assign(new Error('file_path is a directory'), { code: 'EISDIR' });
      // The creation mode is filtered by the umask, and an existing file keeps its mode: set it explicitly.
      if (this.config.mode !== 0 && st.isFile() && (st.mode & 0o7777) !== this.config.mode) {
        await handle.chmod(this.config.mode);
      }
      this.identity = { dev: st.dev, ino: st.ino };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    this.handle = handle;
  }

  private async closeFile(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    this.identity = null;
    if (h) await h.close();
  }

  /** Re-opens when the path no longer names the open file (deleted, rotated, replaced) or nothing is open. */
  private async ensureCurrent(): Promise<void> {
    if (this.handle && this.identity) {
      let same = false;
      try {
        const st = await fsp.stat(this.config.filePath);
        same = st.dev === this.identity.dev && st.ino === this.identity.ino;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
      }
      if (same) return;
      await this.closeFile().catch(() => undefined);
    }
    await this.openFile();
  }
}
