/**
 * Background work: rotating static roles' passwords every `rotation_period`, and finishing a root rotation that
 * a crash interrupted.
 *
 * Due rotations sit in one map (role → due time) behind a single timer armed for the earliest one, not a timer
 * per role; the timer is unref'd (it never keeps the process alive) and stopped in the backend's cleanup. A
 * failed rotation is retried after 10 seconds, as Vault does.
 *
 * A rotation first records the new password as `pending_password` on the role, then sets it in the database,
 * then promotes it. A role found with a pending password at start (a crash in between) is rotated at once.
 */
import type { Logger } from '../../sdk/backend.js';
import { loggableMessage } from '../../sdk/errors.js';
import type { StorageView } from '../../storage/view.js';
import { CONFIG_PREFIX, type DatabaseConfig, type DatabaseContext, dbFailure, STATIC_ROLE_PREFIX, type StaticRoleEntry } from './backend.js';
import { generatePassword } from './password.js';

export const RETRY_AFTER_FAILURE_MS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function nextRotation(role: StaticRoleEntry): number {
  const last = role.last_vault_rotation ? Date.parse(role.last_vault_rotation) : 0;
  return (Number.isFinite(last) ? last : 0) + role.rotation_period * 1000;
}

/**
 * Sets a new password for a static role's user in its database and stores it. The caller holds the role's lock.
 * Throws a 400 with the database's message on failure (the role keeps its previous password).
 */
export async function setStaticAccount(ctx: DatabaseContext, storage: StorageView, name: string, role: StaticRoleEntry): Promise<StaticRoleEntry> {
  const password = generatePassword();
  await storage.putJSON(STATIC_ROLE_PREFIX + name, { ...role, pending_password: password });
  try {
    await ctx.withConnection(storage, role.db_name, (db) =>
      db.updateUser({ username: role.username, password: { newPassword: password, statements: role.rotation_statements } }));
  } catch (err) {
    throw dbFailure(err, [], [password]);
  }
  const rotated: StaticRoleEntry = { ...role, password, last_vault_rotation: new Date().toISOString() };
  delete rotated.pending_password;
  await storage.putJSON(STATIC_ROLE_PREFIX + name, rotated);
  return rotated;
}

/** Rotates a stored static role now (under its lock). Returns null when the role no longer exists. */
export function rotateStaticRole(ctx: DatabaseContext, storage: StorageView, name: string): Promise<StaticRoleEntry | null> {
  return ctx.locks.run(STATIC_ROLE_PREFIX + name, async () => {
    const role = await ctx.readStaticRole(storage, name);
    return role ? setStaticAccount(ctx, storage, name, role) : null;
  });
}

export class RotationManager {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = true;
  private storage: StorageView | null = null;
  private logger: Logger | null = null;

  constructor(private readonly ctx: DatabaseContext) {}

  /** Loads every static role and schedules its next rotation (overdue and interrupted ones right away). */
  async start(storage: StorageView, logger: Logger): Promise<void> {
    this.storage = storage;
    this.logger = logger;
    this.stopped = false;
    for (const name of await storage.list(STATIC_ROLE_PREFIX)) {
      if (name.endsWith('/')) continue;
      const role = await this.ctx.readStaticRole(storage, name);
      if (role) this.due.set(name, role.pending_password ? Date.now() : nextRotation(role));
    }
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }

  schedule(name: string, at: number): void {
    if (this.stopped) return;
    this.due.set(name, at);
    this.arm();
  }

  unschedule(name: string): void {
    this.due.delete(name);
    this.arm();
  }

  /** When `name` is next due (ms), for tests and diagnostics. */
  dueAt(name: string): number | undefined {
    return this.due.get(name);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.running || this.due.size === 0) return;
    const next = Math.min(...this.due.values());
    this.timer = setTimeout(() => void this.tick(), Math.min(Math.max(0, next - Date.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.stopped || !this.storage) return;
    this.running = true;
    try {
      const now = Date.now();
      for (const [name, at] of [...this.due]) {
        if (at > now || this.stopped) continue;
        this.due.delete(name);
        try {
          const role = await rotateStaticRole(this.ctx, this.storage, name);
          if (role && !this.stopped) this.due.set(name, nextRotation(role));
        } catch (err) {
          // The role keeps its current password; try again shortly (the error is the database's, without secrets).
          this.logger?.error(`database: rotating static role "${name}" failed, retrying in ${RETRY_AFTER_FAILURE_MS / 1000}s: ${loggableMessage(err)}`);
          if (!this.stopped) this.due.set(name, Date.now() + RETRY_AFTER_FAILURE_MS);
        }
      }
    } finally {
      this.running = false;
      this.arm();
    }
  }
}

/**
 * A root rotation interrupted between the database change and the config update leaves `pending_root_password`
 * on the config. At start: if the pending password logs in, it becomes the password; otherwise it is dropped.
 */
export async function recoverRootRotations(ctx: DatabaseContext, storage: StorageView): Promise<void> {
  for (const name of await storage.list(CONFIG_PREFIX)) {
    if (name.endsWith('/')) continue;
    await ctx.locks.run(CONFIG_PREFIX + name, async () => {
      const config = await storage.getJSON<DatabaseConfig>(CONFIG_PREFIX + name);
      if (!config?.pending_root_password) return;
      const candidate: DatabaseConfig = {
        ...config,
        connection_details: { ...config.connection_details, password: config.pending_root_password },
      };
      delete candidate.pending_root_password;
      const logsIn = async (c: DatabaseConfig) => {
        try {
          const { instance } = await ctx.openInstance(name, c, true);
          await instance.close();
          return true;
        } catch {
          return false;
        }
      };
      const works = await logsIn(candidate);
      // Neither password logs in (database unreachable?): keep the pending one for the next start.
      if (!works && !(await logsIn(config))) return;
      const fixed = works ? candidate : { ...config };
      delete fixed.pending_root_password;
      await ctx.writeConfig(storage, name, fixed);
      if (works) await ctx.clearConnection(name);
    });
  }
}
