/** Path matching: the literal-prefix shortcut never hides a match the pattern's regex would find. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/sdk/backend.js';
import { matchPath } from '../../src/core/router.js';

const backendOf = (...patterns: string[]): Backend => ({
  paths: patterns.map((pattern) => ({ pattern, operations: { read: async () => null } })),
});

test('router: patterns with quantifiers, alternations, escapes and groups match as their regexes do', () => {
  const cases: [string, string, boolean][] = [
    ['abc?', 'ab', true],
    ['abc?', 'abc', true],
    ['ab*', 'a', true],
    ['ab+', 'abbb', true],
    ['ab{0,1}x', 'ax', true],
    ['foo|bar', 'bar', true],
    ['config|roles/(?<name>\\w+)', 'roles/x', true],
    ['x\\.y', 'x.y', true],
    ['x\\.y', 'xzy', false],
    ['data/(?<path>.+)', 'data/a/b', true],
    ['data/(?<path>.+)', 'metadata/a', false],
    ['(?:a|b)/c', 'b/c', true],
    ['[ab]c', 'bc', true],
  ];
  for (const [pattern, path, expected] of cases) {
    assert.equal(matchPath(backendOf(pattern), path) !== null, expected, `${pattern} against ${path}`);
  }
  const match = matchPath(backendOf('metadata/(?<path>.+)', 'data/(?<path>.+)'), 'data/team/app');
  assert.deepEqual(match?.params, { path: 'team/app' });
});
