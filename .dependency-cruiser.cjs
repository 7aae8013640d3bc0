/**
 * Import boundaries between coffer's parts, checked by dependency-cruiser (`npm run lint:boundaries`, run first by
 * `npm test`). A rule names what a part must not import; the README's Layout section says why each edge exists.
 *
 * Parsed with swc: dependency-cruiser's TypeScript parser needs TypeScript < 7, and this project builds with 7.
 * swc reads the sources as written, so `import type` counts as an import (tsPreCompilationDeps).
 */

/** A coffer part, as opposed to node builtins and npm packages (which every part may use). */
const PARTS = '^(src|external-secrets|argocd-plugin|provider|bin|bench|examples|test)/';

/** The storage interface and the barrier-backed view; never a physical backend (sqlite, postgresql, memory). */
const STORAGE_INTERFACE = ['src/storage/types.ts', 'src/storage/view.ts'];

/**
 * The one folder cycle known today, a block whose folders may import each other in a circle (dependency-cruiser
 * checks folder cycles edge by edge, so a block is the unit an exception can name): src/server registers
 * external-secrets/, which imports only the contract src/server/extension.ts.
 */
const SERVER_BLOCK = '^(src/server|external-secrets)$';

/** A known block's folders may import each other in a circle, but a cycle must not reach past the block. */
const knownCycleBlock = (name, block) => ({
  name,
  comment: 'A known cycle block (see SERVER_BLOCK): no folder outside it may join its cycles.',
  severity: 'error',
  scope: 'folder',
  from: { path: block },
  to: { circular: true, pathNot: block },
});

/** What the core must never import: listeners, CLI, client and the integrations. */
const OUTER_PARTS = '^(src/(server|cli|client)|external-secrets|argocd-plugin|provider)/';

const exactly = (files) => files.map((file) => `^${file.replace(/[.]/g, '\\.')}$`);

module.exports = {
  forbidden: [
    {
      name: 'clients-only-client-and-shared',
      comment: 'argocd-plugin/ and provider/ reach a server only through src/client; beyond it only src/shared.',
      severity: 'error',
      from: { path: '^(argocd-plugin|provider)/' },
      to: { path: PARTS, pathNot: '^($1/|src/client/|src/shared/)' },
    },
    {
      name: 'cli-only-client-and-shared',
      comment: 'The CLI talks to a server through src/client. Its launchers have their own rule below.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/commands/(server|argocd|migrate)[.]ts$' },
      to: { path: PARTS, pathNot: '^src/(cli|client|shared)/' },
    },
    {
      name: 'cli-launchers',
      comment: '`coffer server` starts the server in process (as `vault server` does); `coffer argocd` runs the plugin; `coffer operator migrate` copies storage offline (as `vault operator migrate` does).',
      severity: 'error',
      from: { path: '^src/cli/commands/(server|argocd|migrate)[.]ts$' },
      to: {
        path: PARTS,
        pathNot: ['^src/(cli|client|shared)/', ...exactly(['src/server/server.ts', 'src/server/config.ts', 'src/server/migrate.ts', 'argocd-plugin/generate.ts'])],
      },
    },
    {
      name: 'eso-only-extension-contract',
      comment: 'external-secrets/ uses the server only through the extension contract (src/server/extension.ts).',
      severity: 'error',
      from: { path: '^external-secrets/' },
      to: { path: PARTS, pathNot: ['^(external-secrets|src/shared)/', ...exactly(['src/server/extension.ts'])] },
    },
    {
      name: 'engines-auth-only-sdk',
      comment: 'An engine or auth method is plugged into the core: beyond its own part it imports only the engine toolkit (src/sdk), src/shared and the storage interface; never the core, another part, the outer parts or a physical storage backend.',
      severity: 'error',
      from: { path: '^src/(engines|auth)/' },
      to: { path: PARTS, pathNot: ['^src/($1|sdk|shared)/', ...exactly(STORAGE_INTERFACE)] },
    },
    {
      name: 'sdk-only-shared-and-storage-interface',
      comment: 'The engine toolkit is what engines may import: it carries no core, engine or auth code of its own.',
      severity: 'error',
      from: { path: '^src/sdk/' },
      to: { path: PARTS, pathNot: ['^src/(sdk|shared)/', ...exactly(STORAGE_INTERFACE)] },
    },
    {
      name: 'core-not-outer-parts',
      comment: 'The core is driven by the server; it never imports the listeners, the CLI, the client or an integration.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: OUTER_PARTS },
    },
    {
      name: 'core-no-engines-or-auth',
      comment: 'The server passes the engine and auth-method lists into the core (CoreOptions); the core knows them only through src/sdk.',
      severity: 'error',
      from: { path: '^src/(core|sdk)/' },
      to: { path: '^src/(engines|auth)/' },
    },
    {
      name: 'client-only-shared',
      comment: 'The HTTP client is what other parts use to reach a server; it carries no server code.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: PARTS, pathNot: '^src/(client|shared)/' },
    },
    {
      name: 'shared-knows-no-coffer',
      comment: 'src/shared holds small pieces with no coffer knowledge.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: PARTS, pathNot: '^src/shared/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'No cycles between folders, except within the known block below.',
      severity: 'error',
      scope: 'folder',
      from: { pathNot: SERVER_BLOCK },
      to: { circular: true },
    },
    knownCycleBlock('no-folder-cycles-server-block', SERVER_BLOCK),
    {
      name: 'not-to-unresolvable',
      comment: 'An import the checker cannot resolve would escape every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // node_modules may be a symlink (engineers' worktrees share one): judge packages by the name imported.
    preserveSymlinks: true,
  },
};
