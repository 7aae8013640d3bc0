/**
 * The team's `../shared` directory beside the repository (fixtures, schemas and notes shared by the team).
 *
 * This is the ONE module under test/ and bench/ that reaches outside the repository (test/repo/self-contained.test.ts
 * checks it). A user's clone has nothing beside it, so every test must pass without `../shared`: what it holds
 * runs in addition to the repository's own fixtures, and is reported as skipped, with the reason, when absent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './process.js';

export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');

export interface SharedSource {
  /** How tests name it: `../shared/RELATIVE`. */
  label: string;
  /** Absolute path of the directory under ../shared. */
  dir: string;
  /** Whether it exists on this machine. */
  present: boolean;
  /** For node:test's `skip` option: false when present, else the reason it is skipped. */
  skip: false | string;
}

/** A directory under ../shared, and whether this machine has it. */
export function sharedSource(relative: string): SharedSource {
  const label = `../shared/${relative}`;
  const dir = path.join(SHARED_DIR, relative);
  const present = existsSync(dir);
  return { label, dir, present, skip: present ? false : `${label} is not beside the repository (a team-only source; the repository's own fixtures ran)` };
}
