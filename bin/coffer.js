#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// Exit as soon as the command is done and its output flushed: otherwise Node waits for background work that
// the command no longer needs (V8 finishing the compile of undici's WebAssembly parser), ~100 ms per run.
const finish = (code) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

main(process.argv.slice(2)).then(finish, (err) => {
  process.stderr.write(`Error: ${err && err.message ? err.message : 'unexpected failure'}\n`);
  finish(2);
});
