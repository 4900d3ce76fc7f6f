/**
 * Runs the built program, dist/cli.js, as a process: the way the container runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built program; XYN_TEST_CLI points the tests at another build. */
export const CLI = resolve(process.env.XYN_TEST_CLI ?? 'dist/cli.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr parsed as pino JSON lines */
  readonly logs: Record<string, unknown>[];
  /** the `msg` of the last log line: the one-sentence reason on failure */
  readonly lastMessage: string;
  readonly elapsedMs: number;
}

export type Env = Record<string, string | undefined>;

/**
 * Starts dist/cli.js with only PATH, HOME and `env` in its environment; `wrapper` is a command
 * line that runs it (e.g. a sandbox), given `node dist/cli.js …` as its last arguments.
 */
export function startCli(
  args: readonly string[],
  env: Env,
  wrapper: readonly string[] = [],
): { child: ChildProcess; result: Promise<CliResult> } {
  const started = Date.now();
  const command = [...wrapper, process.execPath, CLI, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolvePromise) => {
    child.on('close', (code, signal) => {
      const logs = stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        logs,
        lastMessage: (logs.at(-1)?.msg as string | undefined) ?? '',
        elapsedMs: Date.now() - started,
      });
    });
  });
  return { child, result };
}

/** Resolves once the child has logged a line holding `text` (its signal handlers are in place by then). */
export function untilLogged(child: ChildProcess, text: string): Promise<void> {
  return new Promise<void>((resolve) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
  });
}

export function runCli(args: readonly string[], env: Env, wrapper: readonly string[] = []): Promise<CliResult> {
  return startCli(args, env, wrapper).result;
}

/** The folders migrationsDir made in this test file's process, removed when it exits. */
const madeFolders: string[] = [];
process.on('exit', () => {
  for (const dir of madeFolders) rmSync(dir, { recursive: true, force: true });
});

/** A temporary migrations folder holding `files` (name → SQL), removed when the test process exits. */
export function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-migrations-'));
  madeFolders.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}
