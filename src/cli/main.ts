/**
 * The `coffer` command. Each command lives in its own module and is imported only when it runs, so a quick
 * command does not pay for loading the server.
 */
import { CommandFailure } from './errors.js';
import { UsageError } from '../shared/flags.js';
import { FieldMissingError, err as writeErr } from './output.js';

/** The vault CLI's exit codes: 1 for usage errors (with the command's help), 2 for failures of the call. */
function reportError(err: unknown, help: string): number {
  if (err instanceof UsageError) {
    process.stderr.write(err.message ? `${err.message}\n\n${help}` : help);
    return 1;
  }
  if (err instanceof FieldMissingError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (err instanceof CommandFailure) {
    writeErr(err.message);
    return err.code;
  }
  // Server and connection errors carry their own readable message (never a secret value, never a stack).
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  return 2;
}

interface CommandModule {
  help: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  read: { summary: 'Read data and retrieve secrets', load: async () => { const m = await import('./commands/generic.js'); return { help: m.readHelp, run: m.runRead }; } },
  write: { summary: 'Write data, configuration, and secrets', load: async () => { const m = await import('./commands/generic.js'); return { help: m.writeHelp, run: m.runWrite }; } },
  delete: { summary: 'Delete secrets and configuration', load: async () => { const m = await import('./commands/generic.js'); return { help: m.deleteHelp, run: m.runDelete }; } },
  list: { summary: 'List data or secrets', load: async () => { const m = await import('./commands/generic.js'); return { help: m.listHelp, run: m.runList }; } },
  patch: { summary: 'Patch data, configuration, and secrets', load: async () => { const m = await import('./commands/generic.js'); return { help: m.patchHelp, run: m.runPatch }; } },
  server: { summary: 'Start a coffer server', load: () => import('./commands/server.js') },
  status: { summary: 'Print seal and HA status', load: () => import('./commands/status.js') },
  operator: { summary: 'Perform operator-specific tasks (init, unseal, seal, rotate, key-status, generate-root, rekey, migrate)', load: () => import('./commands/operator.js') },
  login: { summary: 'Authenticate locally', load: () => import('./commands/login.js') },
  token: { summary: 'Interact with tokens', load: () => import('./commands/token.js') },
  lease: { summary: 'Interact with leases', load: () => import('./commands/lease.js') },
  unwrap: { summary: 'Unwrap a wrapped secret', load: () => import('./commands/unwrap.js') },
  kv: { summary: 'Interact with the key/value secrets engine', load: () => import('./commands/kv.js') },
  secrets: { summary: 'Interact with secrets engines', load: () => import('./commands/secrets.js') },
  auth: { summary: 'Interact with auth methods', load: () => import('./commands/auth.js') },
  policy: { summary: 'Interact with policies', load: () => import('./commands/policy.js') },
  audit: { summary: 'Interact with audit devices', load: () => import('./commands/audit.js') },
  argocd: { summary: 'Render Argo CD manifests with placeholders (argocd-vault-plugin drop-in)', load: () => import('./commands/argocd.js') },
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
    return reportError(err, mod.help);
  }
}
