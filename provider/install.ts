/**
 * `npm run provider:install [-- --mirror DIR]`: puts a launcher for this checkout's provider into a Terraform
 * filesystem mirror (unpacked layout), so that a plain `terraform init` installs terraform.local/coffer/coffer
 * offline. The default DIR, ~/.terraform.d/plugins, is a mirror Terraform searches without any CLI config.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/provider → the package root. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PROVIDER_SOURCE = 'terraform.local/coffer/coffer';

export class InstallError extends Error {}

/** Terraform's (Go's) names for a platform, as used in mirror paths and lock files. */
export function terraformPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const os: Record<string, string> = { linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', openbsd: 'openbsd' };
  const cpu: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };
  // The launcher is a shell script, so Windows would need a different one; say so rather than write a dud.
  if (!os[platform]) throw new InstallError(`the provider launcher is a shell script; ${platform} is not supported`);
  if (!cpu[arch]) throw new InstallError(`unsupported CPU architecture ${arch}`);
  return `${os[platform]}_${cpu[arch]}`;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The launcher's text. The package root is baked in because Terraform copies or links the file out of the
 * mirror, so the launcher cannot find the package relative to itself. It must not vary between runs: Terraform
 * records a hash of the mirror folder in .terraform.lock.hcl, and a reinstall must keep that lock valid.
 */
export function launcherScript(root: string = PACKAGE_ROOT): string {
  return [
    '#!/bin/sh',
    '# Written by `npm run provider:install` in the coffer package below; run it again after moving the package.',
    `exec node ${shellQuote(path.join(root, 'dist/provider/main.js'))} "$@"`,
    '',
  ].join('\n');
}

export function packageVersion(root: string = PACKAGE_ROOT): string {
  return JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
}

export function defaultMirror(): string {
  return path.join(homedir(), '.terraform.d', 'plugins');
}

export interface Installed {
  file: string;
  version: string;
}

export function install(mirror: string, root: string = PACKAGE_ROOT): Installed {
  if (!existsSync(path.join(root, 'dist/provider/main.js'))) {
    throw new InstallError(`${path.join(root, 'dist/provider/main.js')} is missing; run npm run build first`);
  }
  if (existsSync(mirror) && !statSync(mirror).isDirectory()) throw new InstallError(`mirror ${mirror} is not a directory`);
  const version = packageVersion(root);
  const dir = path.join(mirror, PROVIDER_SOURCE, version, terraformPlatform());
  const file = path.join(dir, `terraform-provider-coffer_v${version}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, launcherScript(root), { mode: 0o755 });
    // The mode given to writeFileSync applies only to a new file; a reinstall over an old one sets it here.
    chmodSync(file, 0o755);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : code ?? 'failed';
    throw new InstallError(`cannot write the provider into ${mirror}: ${why}`);
  }
  return { file, version };
}

function parseArgs(argv: string[]): { mirror: string } {
  let mirror = defaultMirror();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--mirror') {
      const value = argv[++i];
      if (!value) throw new InstallError('--mirror needs a directory');
      mirror = value;
    } else if (arg.startsWith('--mirror=')) {
      mirror = arg.slice('--mirror='.length);
      if (!mirror) throw new InstallError('--mirror needs a directory');
    } else {
      throw new InstallError(`unknown argument ${arg}; usage: npm run provider:install [-- --mirror DIR]`);
    }
  }
  return { mirror: path.resolve(mirror) };
}

function main(argv: string[]): number {
  try {
    const { mirror } = parseArgs(argv);
    const { file, version } = install(mirror);
    const implicit = mirror === path.resolve(defaultMirror());
    process.stdout.write(
      [
        `wrote ${file}`,
        '',
        'Require the provider in your configuration, then run terraform init:',
        '',
        '  terraform {',
        '    required_providers {',
        `      coffer = { source = "${PROVIDER_SOURCE}", version = "${version}" }`,
        '    }',
        '  }',
        '',
        ...(implicit
          ? []
          : [
              'Terraform does not search this folder by itself; name it in your CLI config:',
              '',
              '  provider_installation {',
              `    filesystem_mirror {\n      path    = "${mirror}"\n      include = ["${PROVIDER_SOURCE}"]\n    }`,
              '    direct { exclude = ["terraform.local/*/*"] }',
              '  }',
              '',
            ]),
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
