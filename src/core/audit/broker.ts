/**
 * The audit broker: the table of enabled audit devices, persisted (with each device's HMAC salt) in a StorageView
 * encrypted by the barrier. It sends each entry (built in ./entry.ts) to every device and fails closed when no
 * device could record it.
 */
import { randomBytes } from 'node:crypto';
import type { StorageView } from '../../storage/view.js';
import { CofferError } from '../../sdk/errors.js';
import { FileAuditDevice, parseBoolOption, type AuditDevice } from './device.js';
import { buildRequestEntry, buildResponseEntry, formatFor, testEntry, type AuditEntry, type AuditRequestInput, type AuditResponseInput } from './entry.js';
import { HMAC_PREFIX, hmacSha256Hex } from './hash.js';

export { formatAuditTime, type AuditAuthInput, type AuditRequestInput, type AuditResponseInput } from './entry.js';

/** One device as `GET sys/audit` shows it. */
export interface AuditDeviceInfo {
  type: string;
  description: string;
  options: Record<string, string>;
  path: string;
  local: boolean;
}

interface StoredDevice extends AuditDeviceInfo {
  /** base64 of the 32-byte HMAC key. */
  salt: string;
}

interface StoredTable {
  version: 1;
  devices: StoredDevice[];
}

interface Enabled {
  info: AuditDeviceInfo;
  device: AuditDevice;
}

/** Minimal logger (pino's `logger.error(msg)` fits). Messages never contain tokens or secret values. */
export interface AuditLogger {
  error(msg: string): void;
}

export type AuditDeviceFactory = (
  type: string,
  path: string,
  options: Record<string, string>,
  salt: Buffer,
) => AuditDevice;

export interface AuditBrokerOptions {
  logger?: AuditLogger;
  /** Creates devices; the default knows `file`. */
  factory?: AuditDeviceFactory;
}

const TABLE_KEY = 'devices';

export const defaultDeviceFactory: AuditDeviceFactory = (type, path, options, salt) => {
  if (type !== 'file') throw new CofferError(400, `unknown audit device type: "${type}"`);
  return new FileAuditDevice(path, options, salt);
};

/** `file`, `/file`, `file/` → `file/`; rejects empty and `..` segments. */
export function normalizeAuditPath(raw: string): string {
  const trimmed = String(raw ?? '').trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (!trimmed) throw new CofferError(400, 'audit device path is required');
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new CofferError(400, `invalid audit device path "${raw}"`);
  return trimmed + '/';
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of the path is not a directory',
  EISDIR: 'the path is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'a parent of the path exists and is not a directory',
};

/** A description of an error safe to log: an errno code (with its meaning), never the error's free text. */
function errorCode(err: unknown): string {
  if (err instanceof CofferError) return err.message;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return 'write failed';
  return ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
}

export class AuditBroker {
  private devices = new Map<string, Enabled>();
  private salts = new Map<string, Buffer>();
  private readonly logger?: AuditLogger;
  private readonly factory: AuditDeviceFactory;
  /** Serializes enable/disable/load/close. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly storage: StorageView, options: AuditBrokerOptions = {}) {
    this.logger = options.logger;
    this.factory = options.factory ?? defaultDeviceFactory;
  }

  private exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async persist(): Promise<void> {
    const table: StoredTable = {
      version: 1,
      devices: [...this.devices.values()].map(({ info }) => ({
        ...info,
        options: { ...info.options },
        salt: this.salts.get(info.path)!.toString('base64'),
      })),
    };
    await this.storage.putJSON(TABLE_KEY, table);
  }

  /**
   * Re-creates the devices stored in the table (at unseal). A device that cannot be opened stays in the table
   * and keeps trying to open on each entry. Even when every device fails the unseal goes on: requests then fail
   * closed (500) until the operator repairs the path or disables the device (the core lets that one request
   * through), whereas refusing to unseal would leave no way to disable it at all.
   */
  load(): Promise<void> {
    return this.exclusive(async () => {
      await this.closeAll();
      const table = await this.storage.getJSON<StoredTable>(TABLE_KEY);
      const stored = table?.devices ?? [];
      for (const entry of stored) {
        const salt = Buffer.from(entry.salt, 'base64');
        const info: AuditDeviceInfo = {
          type: entry.type,
          description: entry.description ?? '',
          options: { ...(entry.options ?? {}) },
          path: entry.path,
          local: !!entry.local,
        };
        let device: AuditDevice;
        try {
          device = this.factory(info.type, info.path, { ...info.options }, salt);
        } catch (err) {
          this.logger?.error(`audit: cannot re-create device "${info.path}": ${errorCode(err)}`);
          device = new BrokenDevice(info.type, info.path, info.options, salt);
        }
        try {
          await device.open();
        } catch (err) {
          this.logger?.error(`audit: cannot open device "${info.path}": ${errorCode(err)}`);
        }
        this.devices.set(info.path, { info, device });
        this.salts.set(info.path, salt);
      }
    });
  }

  /**
   * Enables a device. 400 on an unknown type, a bad option, a path conflict, or a sink that cannot be opened or
   * cannot write the test entry (Vault's test message, skipped with `skip_test`): a device that cannot record
   * would otherwise make every later request fail closed.
   */
  enable(path: string, type: string, description = '', options: Record<string, string> = {}, local = false): Promise<void> {
    return this.exclusive(async () => {
      const p = normalizeAuditPath(path);
      for (const existing of this.devices.keys()) {
        if (existing.startsWith(p) || p.startsWith(existing)) throw new CofferError(400, 'path already in use');
      }
      if (!type) throw new CofferError(400, 'type is required');
      const opts: Record<string, string> = {};
      for (const [k, v] of Object.entries(options ?? {})) {
        if (v === undefined || v === null) continue;
        opts[k] = typeof v === 'string' ? v : String(v);
      }
      const salt = randomBytes(32);
      const device = this.factory(type, p, { ...opts }, salt); // validates options (400)
      try {
        await device.open();
        if (!parseBoolOption('skip_test', opts.skip_test, false)) await device.log(formatFor(device, testEntry()));
      } catch (err) {
        await device.close().catch(() => undefined);
        const filePath = opts.file_path ?? opts.path ?? '';
        throw new CofferError(400, `sys/audit: audit device "${p}" failed its test write to "${filePath}": ${errorCode(err)}`);
      }
      const info: AuditDeviceInfo = { type, description: description ?? '', options: opts, path: p, local: !!local };
      this.devices.set(p, { info, device });
      this.salts.set(p, salt);
      try {
        await this.persist();
      } catch (err) {
        this.devices.delete(p);
        this.salts.delete(p);
        await device.close().catch(() => undefined);
        throw err;
      }
    });
  }

  /** True when a device is enabled at `path` (any form `normalizeAuditPath` accepts). */
  has(path: string): boolean {
    try {
      return this.devices.has(normalizeAuditPath(path));
    } catch {
      return false;
    }
  }

  /** Disables a device; resolves false when none was enabled at that path (Vault answers 204 either way). */
  disable(path: string): Promise<boolean> {
    return this.exclusive(async () => {
      const p = normalizeAuditPath(path);
      const enabled = this.devices.get(p);
      if (!enabled) return false;
      const salt = this.salts.get(p)!;
      this.devices.delete(p);
      this.salts.delete(p);
      try {
        await this.persist();
      } catch (err) {
        this.devices.set(p, enabled);
        this.salts.set(p, salt);
        throw err;
      }
      await enabled.device.close().catch((err) => this.logger?.error(`audit: closing "${p}" failed: ${errorCode(err)}`));
      return true;
    });
  }

  /** The device table as `GET sys/audit` returns it, keyed by path with a trailing slash. */
  list(): Record<string, AuditDeviceInfo> {
    const out: Record<string, AuditDeviceInfo> = {};
    for (const [p, { info }] of [...this.devices.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      out[p] = { type: info.type, description: info.description, options: { ...info.options }, path: info.path, local: info.local };
    }
    return out;
  }

  /** `sys/audit-hash/:path`: `hmac-sha256:<hex>` of `input` with that device's salt. 400 for an unknown device. */
  hash(path: string, input: string): string {
    let p: string;
    try {
      p = normalizeAuditPath(path);
    } catch {
      throw new CofferError(400, 'unknown audit device');
    }
    const salt = this.salts.get(p);
    if (!salt) throw new CofferError(400, `unknown audit device "${p}"`);
    return HMAC_PREFIX + hmacSha256Hex(salt, String(input ?? ''));
  }

  hasDevices(): boolean {
    return this.devices.size > 0;
  }

  /** Records a request entry on every device. Rejects with 500 "internal error" when no device recorded it. */
  logRequest(input: AuditRequestInput): Promise<void> {
    return this.dispatch(input.requestId, 'request', () => buildRequestEntry(input));
  }

  /** Records a response entry on every device. Rejects with 500 "internal error" when no device recorded it. */
  logResponse(input: AuditResponseInput): Promise<void> {
    return this.dispatch(input.requestId, 'response', () => buildResponseEntry(input));
  }

  /** Re-opens every device's sink (SIGHUP). Resolves with the paths that failed (already logged). */
  async reopen(): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      [...this.devices.values()].map(async ({ info, device }) => {
        try {
          await device.reopen();
        } catch (err) {
          failed.push(info.path);
          this.logger?.error(`audit: re-opening "${info.path}" failed: ${errorCode(err)}`);
        }
      }),
    );
    return failed;
  }

  /** Closes every device (seal). The table stays in storage for the next `load()`. */
  close(): Promise<void> {
    return this.exclusive(() => this.closeAll());
  }

  private async closeAll(): Promise<void> {
    const all = [...this.devices.values()];
    this.devices.clear();
    this.salts.clear();
    await Promise.all(all.map(({ info, device }) => device.close().catch((err) => this.logger?.error(`audit: closing "${info.path}" failed: ${errorCode(err)}`))));
  }

  private async dispatch(requestId: string, kind: 'request' | 'response', build: () => AuditEntry): Promise<void> {
    const targets = [...this.devices.values()];
    if (targets.length === 0) return;
    let clear: AuditEntry;
    try {
      clear = build();
    } catch {
      this.logger?.error(`audit: cannot build ${kind} entry for request ${requestId}`);
      throw new CofferError(500, 'internal error');
    }
    const results = await Promise.allSettled(targets.map(async ({ device }) => device.log(formatFor(device, clear))));
    let ok = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') ok++;
      else this.logger?.error(`audit: device "${targets[i].info.path}" failed to record ${kind} ${requestId}: ${errorCode(r.reason)}`);
    });
    if (ok === 0) throw new CofferError(500, 'internal error');
  }
}

/** Stands in for a stored device that can no longer be created (unknown type, invalid stored options). */
class BrokenDevice implements AuditDevice {
  readonly logRaw = false;
  readonly hmacAccessor = true;
  readonly elideListResponses = false;
  constructor(
    readonly type: string,
    readonly path: string,
    readonly options: Readonly<Record<string, string>>,
    readonly salt: Buffer,
  ) {}
  async open() { throw new Error('device unavailable'); }
  async log() { throw new Error('device unavailable'); }
  async reopen() { throw new Error('device unavailable'); }
  async close() {}
}
