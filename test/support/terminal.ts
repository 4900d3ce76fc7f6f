/**
 * Runs dist/cli.js with a terminal on stdin, stdout and stderr: util-linux's `script` gives it a
 * pseudo-terminal, as a person's shell would. What it wrote comes back as one text (the terminal
 * merges stdout and stderr), with the terminal's CRLF line ends made LF.
 */
import { spawn } from 'node:child_process';
import { CLI, type Env } from './cli.js';

const quoted = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

export function runAtTerminal(args: readonly string[], env: Env): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI, ...args].map(quoted).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output: output.replaceAll('\r\n', '\n') })));
}
