/**
 * The baseline process of bench/argocd: reads the same manifests with the plugin's own reader and prints them
 * with its own printer — everything `generate` does except finding placeholders and fetching their values.
 *   node dist/bench/argocd-baseline.js DIR
 */
import { listFiles, readManifestFile } from '../argocd-plugin/input.js';
import { printStream } from '../argocd-plugin/output.js';

const manifests = listFiles(process.argv[2]).flatMap((f) => readManifestFile(f));
process.stdout.write(printStream(manifests.map((m) => m.value)), () => process.exit(0));
