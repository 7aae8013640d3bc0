#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`Error: ${err && err.message ? err.message : 'unexpected failure'}\n`);
    process.exitCode = 2;
  },
);
