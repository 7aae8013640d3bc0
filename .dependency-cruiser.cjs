/**
 * Import boundaries between coffer's parts, checked by dependency-cruiser (`npm run lint:boundaries`, run first by
 * `npm test`). A rule names what a part must not import; the README's Layout section says why each edge exists.
 *
 * Parsed with swc: dependency-cruiser's TypeScript parser needs TypeScript < 7, and this project builds with 7.
 * swc reads the sources as written, so `import type` counts as an import (tsPreCompilationDeps).
 */

/** A coffer part, as opposed to node builtins and npm packages (which every part may use). */
const PARTS = '^(src|external-secrets|argocd-plugin|provider|bin|bench|examples|test)/';

/**
 * The core modules engines and auth methods import today. The target is none: they will import only the engine
 * toolkit (`src/sdk`, another step of issue 16), which removes this list and the known cycles below. Until then
 * a NEW reach into the core fails; widening this list is a decision to make in review, not a fix for a red build.
 */
const CORE_FOR_ENGINES = [
  'src/core/backend.ts', // path declarations, handlers, Backend and Request types
  'src/core/errors.ts', // CofferError and its Vault status codes
  'src/core/fields.ts', // shared zod field shapes (TTLs, booleans, lists)
  'src/core/duration.ts', // Vault duration parsing and formatting
];
const CORE_FOR_AUTH = [
  'src/core/backend.ts',
  'src/core/errors.ts',
  'src/core/fields.ts',
  'src/core/cidr.ts', // bound CIDRs of roles and secret IDs
  'src/core/tokens/backend.ts', // token fields every auth role carries (tokenutil.ts)
];
/** The storage interface and the barrier-backed view; never a physical backend (sqlite, postgresql, memory). */
const STORAGE_INTERFACE = ['src/storage/types.ts', 'src/storage/view.ts'];

/**
 * Folder cycles known today, each a block whose folders may import each other in a circle (dependency-cruiser
 * checks folder cycles edge by edge, so a block is the unit an exception can name):
 * - the core imports the engine and auth registries (and cubbyhole) while engines and auth import the core; the
 *   src/sdk step passes those lists in from src/server and dissolves this block;
 * - src/server registers external-secrets/, which imports only the contract src/server/extension.ts.
 */
const CORE_BLOCK = '^src/(core|engines|auth)(/|$)';
const SERVER_BLOCK = '^(src/server|external-secrets)$';

/** A known block's folders may import each other in a circle, but a cycle must not reach past the block. */
const knownCycleBlock = (name, block) => ({
  name,
  comment: 'A known cycle block (see CORE_BLOCK and SERVER_BLOCK): no folder outside it may join its cycles.',
  severity: 'error',
  scope: 'folder',
  from: { path: block },
  to: { circular: true, pathNot: block },
});

/** What engines, auth methods and the core must never import: listeners, CLI, client and the integrations. */
const OUTER_PARTS = '^(src/(server|cli|client)|external-secrets|argocd-plugin|provider)/';

const exactly = (files) => files.map((file) => `^${file.replace(/[.]/g, '\\.')}$`);

/** A part that may import from src/core only the listed modules (until src/sdk replaces them). */
const coreAllowList = (name, part, allowed) => ({
  name,
  comment: `${part}/ may import only the core modules its allow-list names (until src/sdk replaces them).`,
  severity: 'error',
  from: { path: `^${part}/` },
  to: { path: '^src/core/', pathNot: exactly(allowed) },
});

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
      name: 'engines-auth-not-outer-parts',
      comment: 'Engines and auth methods are plugged into the core; they know nothing of listeners, CLI or integrations.',
      severity: 'error',
      from: { path: '^src/(engines|auth)/' },
      to: { path: OUTER_PARTS },
    },
    coreAllowList('engines-core-allow-list', 'src/engines', CORE_FOR_ENGINES),
    coreAllowList('auth-core-allow-list', 'src/auth', CORE_FOR_AUTH),
    {
      name: 'engines-auth-storage-interface',
      comment: 'Engines and auth methods see storage through the interface and views, never a physical backend.',
      severity: 'error',
      from: { path: '^src/(engines|auth)/' },
      to: { path: '^src/storage/', pathNot: exactly(STORAGE_INTERFACE) },
    },
    {
      name: 'core-not-outer-parts',
      comment: 'The core is driven by the server; it never imports the listeners, the CLI, the client or an integration.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: OUTER_PARTS },
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
      comment: 'No cycles between folders, except within the two known blocks below.',
      severity: 'error',
      scope: 'folder',
      from: { pathNot: [CORE_BLOCK, SERVER_BLOCK] },
      to: { circular: true },
    },
    knownCycleBlock('no-folder-cycles-core-block', CORE_BLOCK),
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
