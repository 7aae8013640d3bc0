/**
 * A user's clone has nothing beside it: no file under test/ or bench/ may reach outside the repository except
 * test/helpers/shared.ts, the one module that resolves the team's ../shared and says whether it is present.
 *
 * A static scan of the TypeScript sources, cheap and deliberately simple. It flags:
 * - the team directory named in a string (`../shared`, or `'..', 'shared'` as path segments);
 * - the repository root joined with an upward path (`REPO_ROOT, '../x'`);
 * - more `..` steps from the module's own location (import.meta.url) than lead up to the repository root;
 * - a relative import that resolves outside the repository;
 * - an absolute path into the machine's work tree (`/work/...`).
 * HTTP paths with `..` in them (API path-safety tests) are plain strings and are not flagged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/process.js';

/** The one module allowed to reach ../shared. */
const GATEWAY = 'test/helpers/shared.ts';
/** This file: its samples of what is flagged are strings, not paths it uses. */
const SELF = 'test/repo/self-contained.test.ts';
const SCANNED = ['test', 'bench'];

interface Violation {
  file: string;
  line: number;
  rule: string;
}

/** Path segments from the repository root to where `file` (a source path) runs from once compiled into dist/. */
function compiledDepth(file: string): number {
  return path.posix.dirname(`dist/${file}`).split('/').length;
}

const RULES: { rule: string; test: (line: string, file: string) => boolean }[] = [
  { rule: 'names the team directory ../shared', test: (l) => /\.\.[/\\]shared\b|['"`]\.\.['"`]\s*,\s*['"`]shared['"`]/.test(l) },
  { rule: 'joins the repository root with an upward path', test: (l) => /\b(?:REPO_ROOT|REPO)\s*,\s*['"`]\.\.(?:[/\\'"`])/.test(l) },
  { rule: 'absolute path into /work', test: (l) => /['"`]\/work\//.test(l) },
  {
    rule: 'climbs above the repository root from the module location',
    test: (l, file) => {
      if (!l.includes('import.meta.url')) return false;
      const ups = [...l.matchAll(/['"`]((?:\.\.[/\\]?)+)['"`]/g)].map((m) => m[1].split(/[/\\]/).filter((s) => s === '..').length);
      return ups.some((n) => n > compiledDepth(file));
    },
  },
  {
    rule: 'imports from outside the repository',
    test: (l, file) =>
      [...l.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"`](\.[^'"`]*)['"`]/g)].some((m) => {
        const target = path.resolve(REPO_ROOT, path.dirname(file), m[1]);
        return path.relative(REPO_ROOT, target).startsWith('..');
      }),
  },
];

/** Every rule a source text breaks, line by line (`file` is its path from the repository root). */
export function scan(file: string, text: string): Violation[] {
  const found: Violation[] = [];
  text.split('\n').forEach((line, i) => {
    for (const r of RULES) if (r.test(line, file)) found.push({ file, line: i + 1, rule: r.rule });
  });
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return rel === 'test/fixtures' || rel === 'bench/results' ? [] : sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

describe('tests and benches are self-contained', () => {
  it(`only ${GATEWAY} reaches outside the repository`, () => {
    const files = SCANNED.flatMap(sources);
    assert.ok(files.length > 50, `scanned ${files.length} files`);
    assert.ok(files.includes('test/argocd/fixtures.test.ts') && files.includes('bench/harness.ts'));
    const violations = files.filter((f) => f !== GATEWAY && f !== SELF).flatMap((f) => scan(f, readFileSync(path.join(REPO_ROOT, f), 'utf8')));
    assert.deepEqual(violations, []);
  });

  it('the gateway itself is found by the scan (the rules match what it does)', () => {
    const rules = scan(GATEWAY, readFileSync(path.join(REPO_ROOT, GATEWAY), 'utf8')).map((v) => v.rule);
    assert.ok(rules.includes('names the team directory ../shared'), rules.join());
  });

  it('flags each way out, and not what stays inside', () => {
    const bad: [string, string, string][] = [
      ['test/argocd/x.test.ts', "const DIR = path.resolve(REPO_ROOT, '../shared/conformance/avp');", 'names the team directory ../shared'],
      ['test/argocd/x.test.ts', "const DIR = path.join(REPO_ROOT, '..', 'shared', 'crds');", 'names the team directory ../shared'],
      ['test/argocd/x.test.ts', "const SIBLING = path.resolve(REPO_ROOT, '../other-repo');", 'joins the repository root with an upward path'],
      ['test/cli/x.test.ts', "const f = '/work/main/package.json';", 'absolute path into /work'],
      ['test/cli/x.test.ts', "const up = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');", 'climbs above the repository root from the module location'],
      ['bench/x.ts', "const up = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');", 'climbs above the repository root from the module location'],
      ['test/cli/x.test.ts', "import { seed } from '../../../shared/seed.js';", 'imports from outside the repository'],
      ['test/cli/x.test.ts', "const m = await import('../../../elsewhere/m.js');", 'imports from outside the repository'],
    ];
    for (const [file, line, rule] of bad) assert.ok(scan(file, line).some((v) => v.rule === rule), `${rule}: ${line}`);
    const good: [string, string][] = [
      ['test/helpers/x.ts', "export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');"],
      ['bench/x.ts', "export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');"],
      ['test/cli/x.test.ts', "import { main } from '../../src/cli/main.js';"],
      ['test/server/x.test.ts', "await root.get('secret/data/team-a/../team-b/x');"],
      ['test/argocd/x.test.ts', "const dir = path.join(REPO_ROOT, 'test/fixtures/argocd');"],
    ];
    for (const [file, line] of good) assert.deepEqual(scan(file, line), [], line);
  });
});
