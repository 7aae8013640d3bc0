/**
 * `coffer operator migrate -config=FILE [-reset] [-start=KEY]`: copies every stored entry between two storage
 * backends (SQLite, PostgreSQL), still encrypted. Run it with no server on either store.
 */
import { runMigration } from '../../server/migrate.js';
import { expectArgs } from '../args.js';
import { parseFlags, UsageError } from '../../shared/flags.js';
import { err, out } from '../output.js';

export const MIGRATE_FLAGS = [
  { name: 'config', kind: 'string' as const },
  { name: 'reset', kind: 'bool' as const },
  { name: 'start', kind: 'string' as const },
];

/** A bar redrawn in place on a terminal; one log line per step otherwise (files, CI logs). */
function progressReporter(): (copied: number, total: number) => void {
  if (process.stderr.isTTY) {
    return (copied, total) => {
      const width = 30;
      const filled = total === 0 ? width : Math.round((copied / total) * width);
      const percent = total === 0 ? 100 : Math.floor((copied / total) * 100);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}% ${copied}/${total} entries${copied === total ? '\n' : ''}`);
    };
  }
  return (copied, total) => process.stderr.write(`${new Date().toISOString()} [INFO]  copied ${copied} of ${total} entries\n`);
}

export async function migrate(argv: string[]): Promise<number> {
  const args = parseFlags(argv, MIGRATE_FLAGS);
  expectArgs(args.positional, 0);
  const file = args.flags.config;
  if (typeof file !== 'string' || !file) throw new UsageError('-config is required');
  const reset = args.flags.reset === true;
  const start = typeof args.flags.start === 'string' ? args.flags.start : undefined;
  if (reset && start !== undefined) throw new UsageError('-reset and -start cannot be combined: -start resumes into the destination, -reset erases it');

  let copied = 0;
  let total = 0;
  const report = progressReporter();
  try {
    const summary = await runMigration(file, {
      reset,
      start,
      log: err,
      onProgress: (done, of) => {
        copied = done;
        total = of;
        report(done, of);
      },
    });
    await out(`Success! ${summary}\n`);
    return 0;
  } catch (e) {
    if (process.stderr.isTTY && total > 0 && copied < total) process.stderr.write('\n');
    const where = total > 0 ? ` (after copying ${copied} of ${total} entries: the destination is incomplete; run again with -reset)` : '';
    err(`Error migrating: ${(e as Error).message}${where}`);
    return 1;
  }
}
