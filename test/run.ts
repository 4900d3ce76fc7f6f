/**
 * `npm test`: starts ONE real PostgreSQL for the whole run (server binaries from npm, no Docker,
 * no system package; test/support/cluster.ts), then runs every test file with node's test runner.
 * Each test makes its own fresh database on it (test/support/postgres.ts). XYN_TEST_PG_MAJOR=16
 * runs on PostgreSQL 16 instead of the newest; test/matrix.ts runs every supported major.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, giveToPostgres } from './support/cluster.js';
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
 * is a wrong host name for verify-full), a client certificate it signs for the role
 * CERT_USER, and a second, unrelated CA.
 */
function makeCertificates(dir: string): { ca: string; otherCa: string; cert: string; key: string; clientCert: string; clientKey: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=xyn-migrate test CA');
  openssl('req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=some other CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${CERT_USER}`);
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2');
  chmodSync(join(dir, 'client.key'), 0o600);
  const key = join(dir, 'server.key');
  chmodSync(key, 0o600);
  giveToPostgres(key);
  return {
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other-ca.crt'),
    cert: join(dir, 'server.crt'),
    key,
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** Logs in with a client certificate only (pg_hba `cert`): its name is the certificate's CN. */
const CERT_USER = 'xyn_cert_user';
/** Members of this role may connect with TLS only, as on a managed server with rds.force_ssl. */
const TLS_ONLY_GROUP = 'xyn_tls_only';
/** Members of this role may connect in plain text only (pg_hba `hostssl … reject`). */
const PLAIN_ONLY_GROUP = 'xyn_plain_only';

/**
 * pg_hba.conf lines for the TLS cases, before initdb's own (the first matching line decides):
 * TLS-only roles are rejected in plain text, plain-only roles with TLS; the certificate user logs
 * in by certificate.
 */
function addTlsRules(dataDir: string): void {
  const file = join(dataDir, 'pg_hba.conf');
  const rules = [
    `hostnossl all +${TLS_ONLY_GROUP} all reject`,
    `hostssl all +${PLAIN_ONLY_GROUP} all reject`,
    `hostssl all ${CERT_USER} all cert`,
    `hostnossl all ${CERT_USER} all reject`,
  ];
  writeFileSync(file, `${rules.join('\n')}\n${readFileSync(file, 'utf8')}`);
}

async function createTlsRoles(server: Cluster): Promise<void> {
  await server.admin(`CREATE ROLE ${TLS_ONLY_GROUP} NOLOGIN; CREATE ROLE ${PLAIN_ONLY_GROUP} NOLOGIN; CREATE ROLE ${CERT_USER} LOGIN`);
}

async function main(): Promise<number> {
  const port = await reservePort();
  const parent = mkdtempSync(join(tmpdir(), 'xyn-test-pg-'));
  chmodSync(parent, 0o755); // the server runs as the postgres user when we are root
  const dataDir = join(parent, 'data');
  const tls = makeCertificates(parent);
  const server = Cluster.init({
    dataDir,
    port,
    password: ADMIN_PASSWORD,
    settings: {
      // Durability off for speed: tests never survive a crash of the test server itself.
      ...{ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
      ...{ ssl: 'on', ssl_cert_file: tls.cert, ssl_key_file: tls.key, ssl_ca_file: tls.ca },
    },
  });
  addTlsRules(dataDir);
  await server.start();
  await createTlsRoles(server);
  process.stderr.write(`test PostgreSQL ${server.major} listening on 127.0.0.1:${port}\n`);
  try {
    const testServer = {
      ...{ host: '127.0.0.1', port, user: 'postgres', password: ADMIN_PASSWORD, caFile: tls.ca, otherCaFile: tls.otherCa },
      ...{
        certUser: CERT_USER,
        clientCertFile: tls.clientCert,
        clientKeyFile: tls.clientKey,
        tlsOnlyGroup: TLS_ONLY_GROUP,
        plainOnlyGroup: PLAIN_ONLY_GROUP,
      },
    };
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
