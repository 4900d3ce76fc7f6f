/**
 * TLS as libpq does it (src/target.ts's sslmode, src/db/session.ts's prefer/allow): verification,
 * sslrootcert=system, a TLS-only server, client certificates.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { adminQuery, freshDatabase, ledgerIdsOf, testServer, urlFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';
import { proxyTo } from '../support/proxy.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const base = {
  '001_initial_schema.sql':
    'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY); INSERT INTO widgets SELECT generate_series(1, 100) ON CONFLICT DO NOTHING;',
};
const ledgerIds = () => ledgerIdsOf(db);

describe('TLS with libpq sslmode semantics', () => {
  const server = testServer();
  const url = (host: string, query: string) => `${urlFor(db.name).replace('@127.0.0.1:', `@${host}:`)}?${query}`;

  it('sslmode=require encrypts without verifying the certificate', async () => {
    const run = await runCli([], { DATABASE_URL: url('127.0.0.1', 'sslmode=require'), XYN_MIGRATIONS_DIR: migrationsDir(base) });
    assert.equal(run.code, 0, run.stderr);
    const [ssl] = await db.query(
      `SELECT bool_or(s.ssl) AS any_ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1`,
      [db.name],
    );
    assert.ok(ssl, 'pg_stat_ssl is readable');
  });

  it('verify-full with the right CA and host name works; verify-ca ignores the host name', async () => {
    const dir = migrationsDir(base);
    const full = await runCli([], {
      DATABASE_URL: url('localhost', `sslmode=verify-full&sslrootcert=${server.caFile}`),
      XYN_MIGRATIONS_DIR: dir,
    });
    assert.equal(full.code, 0, full.stderr);
    const ca = await runCli([], {
      DATABASE_URL: url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${server.caFile}`),
      XYN_MIGRATIONS_DIR: dir,
    });
    assert.equal(ca.code, 0, ca.stderr);
  });

  it('verify-full against the wrong host name is exit 3 at once, saying certificate verification failed', async () => {
    const run = await runCli([], {
      DATABASE_URL: url('127.0.0.1', `sslmode=verify-full&sslrootcert=${server.caFile}`),
      XYN_MIGRATIONS_DIR: migrationsDir(base),
      XYN_WAIT_TIMEOUT: '30',
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /TLS certificate verification failed/);
    assert.ok(run.elapsedMs < 5000);
  });

  it('sslrootcert=system trusts the roots Node trusts (with NODE_EXTRA_CA_CERTS) and implies verify-full; a weaker sslmode is exit 2', async () => {
    const dir = migrationsDir(base);
    const system = (host: string, query = 'sslrootcert=system') => ({ DATABASE_URL: url(host, query), XYN_MIGRATIONS_DIR: dir });
    const untrusted = await runCli([], { ...system('localhost'), XYN_WAIT_TIMEOUT: '30' });
    assert.equal(untrusted.code, 3, 'a CA of our own making is not among the roots Node ships');
    assert.match(untrusted.lastMessage, /TLS certificate verification failed/);
    const trusted = await runCli([], { ...system('localhost'), NODE_EXTRA_CA_CERTS: server.caFile });
    assert.equal(trusted.code, 0, trusted.stderr);
    const wrongHost = await runCli([], { ...system('127.0.0.1'), NODE_EXTRA_CA_CERTS: server.caFile, XYN_WAIT_TIMEOUT: '30' });
    assert.equal(wrongHost.code, 3, 'verify-full: the host name is checked too');
    const weak = await runCli([], system('localhost', 'sslmode=require&sslrootcert=system'));
    assert.equal(weak.code, 2);
    assert.match(weak.lastMessage, /sslrootcert=system with sslmode=require/);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
  });

  it('a certificate from another CA is exit 3, saying certificate verification failed', async () => {
    const run = await runCli([], {
      DATABASE_URL: url('localhost', `sslmode=verify-ca&sslrootcert=${server.otherCaFile}`),
      XYN_MIGRATIONS_DIR: migrationsDir(base),
      XYN_WAIT_TIMEOUT: '30',
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /TLS certificate verification failed/);
  });
});

describe('TLS as a managed server does it: sslmode prefer by default', () => {
  const server = testServer();
  // The migration records whether its own session was encrypted.
  const tlsSeen = { '001_initial_schema.sql': 'CREATE TABLE tls_seen AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();' };
  const encrypted = async () => (await db.query('SELECT ssl FROM tls_seen'))[0]!.ssl as boolean;
  let role: string;
  beforeEach(async () => {
    role = `tls_${db.name}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'tls-only-secret' IN ROLE ${server.tlsOnlyGroup}`);
    await db.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
  });
  afterEach(async () => {
    await db.drop();
    await adminQuery(`DROP ROLE IF EXISTS ${role}`);
  });
  const roleUrl = (query = '') => `${urlFor(db.name, server, { user: role, password: 'tls-only-secret' })}${query}`;

  it('a TLS-only server (hostssl only) and a URL without sslmode: exit 0, and the session was encrypted', async () => {
    const run = await runCli([], { DATABASE_URL: roleUrl(), XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen) });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await encrypted(), true);
  });

  it('sslmode=disable against it is exit 3 at once (28000)', async () => {
    const run = await runCli([], {
      DATABASE_URL: roleUrl('?sslmode=disable'),
      XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen),
      XYN_WAIT_TIMEOUT: '30',
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /28000/);
    assert.ok(run.elapsedMs < 5000);
  });

  it('sslmode=allow tries plain text, and on the refusal connects again with TLS', async () => {
    const run = await runCli([], { DATABASE_URL: roleUrl('?sslmode=allow'), XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen) });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await encrypted(), true);
  });

  it('prefer whose encrypted connection pg_hba refuses connects once more in plain text, as libpq does', async () => {
    await db.query(`REVOKE ${server.tlsOnlyGroup} FROM ${role}; GRANT ${server.plainOnlyGroup} TO ${role}`);
    const run = await runCli([], { DATABASE_URL: roleUrl(), XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen) });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await encrypted(), false);
  });

  it('prefer against a server that declines TLS goes on in plain text on the same connection', async () => {
    const proxy = await proxyTo(server.port, { declineTls: true });
    await proxy.listen();
    try {
      const run = await runCli([], {
        DATABASE_URL: urlFor(db.name, server, { port: proxy.port }),
        XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen),
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(proxy.connections(), 1, 'no second connection');
    } finally {
      await proxy.close();
    }
    assert.equal(await encrypted(), false);
  });

  it('a client certificate logs in (pg_hba cert), from the URL or from PGSSLCERT/PGSSLKEY; without it, exit 3', async () => {
    await db.query(`ALTER DATABASE ${db.name} OWNER TO ${server.certUser}`);
    const url = `postgres://${server.certUser}@${server.host}:${server.port}/${db.name}`;
    const cert = `sslcert=${encodeURIComponent(server.clientCertFile)}&sslkey=${encodeURIComponent(server.clientKeyFile)}`;
    const fromUrl = await runCli([], { DATABASE_URL: `${url}?${cert}`, XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen) });
    assert.equal(fromUrl.code, 0, fromUrl.stderr);
    assert.equal(await encrypted(), true);
    const env = {
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGUSER: server.certUser,
      PGDATABASE: db.name,
      PGSSLMODE: 'verify-ca',
      PGSSLROOTCERT: server.caFile,
    };
    const fromEnv = await runCli(['verify'], {
      ...env,
      PGSSLCERT: server.clientCertFile,
      PGSSLKEY: server.clientKeyFile,
      XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen),
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const without = await runCli(['verify'], { ...env, XYN_MIGRATIONS_DIR: migrationsDir(tlsSeen), XYN_WAIT_TIMEOUT: '30' });
    assert.equal(without.code, 3);
  });
});
