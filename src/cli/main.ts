/**
 * The `coffer` command. Each command lives in its own module and is imported only when it runs, so a quick
 * command does not pay for loading the server.
 */
import { UsageError } from './flags.js';

interface CommandModule {
  help: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  server: { summary: 'Start a coffer server', load: () => import('./commands/server.js') },
};

export const usage = () => `Usage: coffer <command> [args]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `    ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Run "coffer <command> -help" for a command's options and examples.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || ['-h', '-help', '--help', 'help'].includes(name)) {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}"\n\n${usage()}`);
    return 1;
  }
  const mod = await command.load();
  if (rest.some((a) => ['-h', '-help', '--help'].includes(a))) {
    process.stdout.write(mod.help);
    return 0;
  }
  try {
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${mod.help}`);
      return 1;
    }
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 2;
  }
}
