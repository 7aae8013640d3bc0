/**
 * `coffer argocd generate PATH|-`: the Argo CD config-management plugin (argocd-plugin/), reachable from the
 * main command as well as from its own launcher `coffer-argocd-plugin`.
 */
import { help as generateHelp, processIo, runGenerate } from '../../../argocd-plugin/generate.js';
import { UsageError } from '../../shared/flags.js';

export const help = `Usage: coffer argocd generate [options] PATH|-

${generateHelp.split('\n').slice(3).join('\n')}`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') throw new UsageError(sub ? `unknown argocd subcommand "${sub}"` : 'missing subcommand: generate');
  return runGenerate(rest, processIo());
}
