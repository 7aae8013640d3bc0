// Placeholder until this command is written (work in progress in this session).
import { UsageError } from '../flags.js';

export const help = 'Usage: coffer kv\n';

export async function run(_argv: string[]): Promise<number> {
  throw new UsageError('coffer kv is not available yet');
}
