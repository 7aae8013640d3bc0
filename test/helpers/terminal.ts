/** Runs `coffer ...` on a real terminal (script(1), util-linux), answering prompts as a person would type. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { COFFER_BIN } from './process.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts `coffer ARGS` under script(1) and types `answer` (then Enter) once `prompt` shows; resolves with the
 * exit code and everything the terminal showed (stdout and stderr together, with \r\n line ends).
 */
export async function onTerminal(args: string[], env: Record<string, string>, prompt: string, answer: string): Promise<{ code: number | null; output: string }> {
  assert.equal(spawnSync('script', ['--version']).status, 0, 'script(1) is needed to provide a terminal');
  const command = [process.execPath, COFFER_BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let sent = false;
  child.stdout.on('data', (d) => {
    output += d;
    if (!sent && output.includes(prompt)) {
      sent = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (c) => {
      // 'close': stdout/stderr fully read
      clearTimeout(timer);
      resolve(c);
    });
  });
  child.stdin.destroy();
  return { code, output };
}
