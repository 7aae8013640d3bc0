/**
 * The packaging: plugin.yaml holds the three ConfigManagementPlugin (CMP v2) variants, the sidecar
 * kustomization's ConfigMap carries exactly those definitions, the repo-server patch runs Argo CD's cmp-server
 * with each of them, and the Dockerfile builds an image that has the plugin on PATH and runs as Argo CD's user.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/process.js';

const DIR = path.join(REPO_ROOT, 'argocd-plugin');
const read = (f: string) => readFileSync(path.join(DIR, f), 'utf8');
const docs = (f: string) =>
  parseAllDocuments(read(f)).map((d) => {
    assert.equal(d.errors.length, 0, `${f}: ${d.errors[0]?.message}`);
    return d.toJS();
  });

function commandText(cmd: unknown): string {
  assert.ok(Array.isArray(cmd) && cmd.length > 0 && cmd.every((c) => typeof c === 'string'), 'a command is a list of strings');
  return (cmd as string[]).join(' ');
}

describe('Argo CD packaging', () => {
  const plugins = docs('plugin.yaml');

  it('plugin.yaml: three ConfigManagementPlugin v2 definitions, plain, helm and kustomize', () => {
    assert.deepEqual(plugins.map((p) => p.metadata?.name), ['coffer', 'coffer-helm', 'coffer-kustomize']);
    for (const p of plugins) {
      assert.equal(p.apiVersion, 'argoproj.io/v1alpha1');
      assert.equal(p.kind, 'ConfigManagementPlugin');
      assert.ok(p.spec?.discover?.find?.command || p.spec?.discover?.fileName, `${p.metadata.name}: discover`);
      commandText(p.spec.discover.find.command);
      const generate = commandText(p.spec?.generate?.command);
      assert.match(generate, /set -o pipefail/, `${p.metadata.name}: generate runs under pipefail`);
      assert.equal(p.spec.generate.command[0], 'bash', 'pipefail needs bash');
      assert.match(generate, /coffer-argocd-plugin generate/);
    }
  });

  it('the helm variant templates the chart with the app name and namespace, through stdin', () => {
    const helm = plugins[1];
    const generate = commandText(helm.spec.generate.command);
    assert.match(generate, /helm template "\$ARGOCD_APP_NAME" -n "\$ARGOCD_APP_NAMESPACE"[^|]*\. \|\s*coffer-argocd-plugin generate -/);
    assert.match(commandText(helm.spec.init.command), /helm dependency build/);
    assert.ok(Array.isArray(helm.spec.parameters?.static) && helm.spec.parameters.static.every((p: { name?: string }) => typeof p.name === 'string'));
  });

  it('the kustomize variant pipes kustomize build into the plugin', () => {
    assert.match(commandText(plugins[2].spec.generate.command), /kustomize build \. \| coffer-argocd-plugin generate -/);
    assert.match(commandText(plugins[0].spec.generate.command), /coffer-argocd-plugin generate \.$/);
  });

  it('the sidecar kustomization: its resources and patch exist, and its ConfigMap holds plugin.yaml\'s definitions', () => {
    const k = parse(read('manifests/kustomization.yaml'));
    assert.equal(k.apiVersion, 'kustomize.config.k8s.io/v1beta1');
    assert.equal(k.kind, 'Kustomization');
    for (const r of k.resources as string[]) if (!/^https:\/\//.test(r)) assert.ok(existsSync(path.join(DIR, 'manifests', r)), r);
    assert.ok((k.resources as string[]).some((r) => /argoproj\/argo-cd\/\/manifests\/.*\?ref=v\d/.test(r)), 'a pinned Argo CD install');
    const patch = k.patches.find((p: { target?: { name?: string } }) => p.target?.name === 'argocd-repo-server');
    assert.ok(patch && existsSync(path.join(DIR, 'manifests', patch.path)));
    const cm = parse(read('manifests/cmp-plugins.yaml'));
    assert.equal(cm.kind, 'ConfigMap');
    assert.deepEqual(Object.keys(cm.data), ['coffer.yaml', 'coffer-helm.yaml', 'coffer-kustomize.yaml']);
    plugins.forEach((p, i) => assert.deepEqual(parse(Object.values(cm.data)[i] as string), p));
  });

  it('the repo-server patch adds one cmp-server sidecar per variant, non-root, with its plugin.yaml mounted', () => {
    const d = parse(read('manifests/argocd-repo-server-patch.yaml'));
    assert.equal(d.kind, 'Deployment');
    assert.equal(d.metadata.name, 'argocd-repo-server');
    const spec = d.spec.template.spec;
    const volumes = new Set((spec.volumes as { name: string }[]).map((v) => v.name));
    const cm = parse(read('manifests/cmp-plugins.yaml'));
    const containers = spec.containers as { name: string; command: string[]; image: string; securityContext: Record<string, unknown>; volumeMounts: { mountPath: string; name: string; subPath?: string }[] }[];
    assert.equal(containers.length, 3);
    for (const c of containers) {
      assert.deepEqual(c.command, ['/var/run/argocd/argocd-cmp-server']);
      assert.equal(c.image, 'coffer-argocd-plugin');
      assert.equal(c.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.runAsUser, 999);
      const mounts = new Map(c.volumeMounts.map((m) => [m.mountPath, m]));
      assert.equal(mounts.get('/var/run/argocd')?.name, 'var-files');
      assert.equal(mounts.get('/home/argocd/cmp-server/plugins')?.name, 'plugins');
      const config = mounts.get('/home/argocd/cmp-server/config/plugin.yaml');
      assert.ok(config?.subPath && config.subPath in cm.data, `${c.name}: plugin.yaml from the ConfigMap`);
      for (const m of c.volumeMounts) if (!['var-files', 'plugins'].includes(m.name)) assert.ok(volumes.has(m.name), `${c.name}: volume ${m.name}`);
    }
    assert.deepEqual(containers.map((c) => c.volumeMounts.find((m) => m.mountPath.endsWith('plugin.yaml'))!.subPath), ['coffer.yaml', 'coffer-helm.yaml', 'coffer-kustomize.yaml']);
  });

  it('the Dockerfile builds the plugin, puts it on PATH with helm and kustomize, and runs as uid 999', () => {
    const lines = read('Dockerfile')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .join('\n')
      .replace(/\\\n/g, ' ')
      .split('\n');
    const instr = lines.map((l) => l.trim().split(/\s+/)[0]);
    assert.equal(instr[0], 'FROM');
    for (const i of instr) assert.ok(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'CMD', 'ENTRYPOINT', 'ARG'].includes(i), `instruction ${i}`);
    assert.ok(!instr.includes('ADD'), 'no ADD (no remote downloads)');
    const from = lines.filter((l) => l.startsWith('FROM'));
    for (const f of from) assert.match(f, /:[\w.-]+(\s+AS\s+\w[\w-]*)?$/i, `pinned tag: ${f}`);
    assert.match(from.at(-1)!, /^FROM node:20/);
    assert.equal(lines.filter((l) => l.startsWith('USER')).at(-1), 'USER 999');
    const text = lines.join('\n');
    assert.match(text, /COPY --from=argocd-tools \/usr\/local\/bin\/helm \/usr\/local\/bin\/kustomize/);
    assert.match(text, /ln -s \/opt\/coffer\/argocd-plugin\/bin\/coffer-argocd-plugin \/usr\/local\/bin\/coffer-argocd-plugin/);
    assert.match(text, /npx tsc -p tsconfig\.json/);
    assert.match(lines.filter((l) => l.startsWith('CMD')).at(-1)!, /argocd-cmp-server/);
    for (const c of lines.filter((l) => l.startsWith('COPY') && !l.includes('--from'))) {
      for (const src of c.split(/\s+/).slice(1, -1)) assert.ok(existsSync(path.join(REPO_ROOT, src)), `COPY source ${src}`);
    }
  });

  it('the launcher is a node script, executable, and declared in package.json', () => {
    const bin = path.join(DIR, 'bin/coffer-argocd-plugin');
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok((statSync(bin).mode & 0o111) !== 0, 'executable');
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.bin['coffer-argocd-plugin'], 'argocd-plugin/bin/coffer-argocd-plugin');
  });
});
