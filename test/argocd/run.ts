/** Runs the generate command in this process (the same function the launcher calls), capturing its output. */
import { Readable } from 'node:stream';
import { main } from '../../argocd-plugin/generate.js';
import type { PluginRun } from './helpers.js';

export async function generateInProcess(args: string[], env: Record<string, string>, input = ''): Promise<PluginRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    env,
    stdin: Readable.from([Buffer.from(input)]),
    stdout: async (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}
