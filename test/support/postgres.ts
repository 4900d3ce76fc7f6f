/**
 * The test PostgreSQL started by test/run.ts, and a fresh database per test.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface Server {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** the CA that signed the server's certificate (for DNS:localhost only) */
  readonly caFile: string;
  /** a CA that signed nothing of ours */
  readonly otherCaFile: string;
  /** a role that logs in with a client certificate only (pg_hba `cert`), and that certificate */
  readonly certUser: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** members of this role may connect with TLS only (pg_hba `hostnossl … reject`) */
  readonly tlsOnlyGroup: string;
  /** members of this role may connect in plain text only (pg_hba `hostssl … reject`) */
  readonly plainOnlyGroup: string;
}

export function testServer(): Server {
  const raw = process.env.XYN_TEST_PG;
  if (!raw) throw new Error('XYN_TEST_PG is not set: run the tests with `npm test` (test/run.ts starts PostgreSQL)');
  return JSON.parse(raw) as Server;
}

export function urlFor(
  database: string,
  server: Server = testServer(),
  overrides: { password?: string; port?: number; user?: string } = {},
): string {
  const user = encodeURIComponent(overrides.user ?? server.user);
  const password = encodeURIComponent(overrides.password ?? server.password);
  return `postgres://${user}:${password}@${server.host}:${overrides.port ?? server.port}/${database}`;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** a query on this database, through a client kept open until `drop` */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  /** a new client of its own (for holding locks, transactions) */
  client(): Promise<pg.Client>;
  drop(): Promise<void>;
}

/** A statement run as the superuser on the server's `postgres` database. */
export async function adminQuery(text: string): Promise<void> {
  const server = testServer();
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'postgres',
  });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function freshDatabase(prefix = 't'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const server = testServer();
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: name });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const main = await client();
  return {
    name,
    url: urlFor(name, server),
    query: async (text, values) => (await main.query(text, values)).rows,
    client,
    drop: async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** The ledger's ids, in order. */
export async function ledgerIdsOf(db: TestDatabase): Promise<string[]> {
  return (await db.query('SELECT id FROM schema_migrations ORDER BY id')).map((r) => r.id as string);
}

/** Advisory locks held in `db` (the migration lock, or none). */
export async function advisoryLocksIn(db: TestDatabase): Promise<number> {
  const [row] = await db.query(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return row!.n as number;
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a statement holding `fragment` (e.g. `pg_sleep(3)`) runs in `db`, from another session. */
export async function untilRunning(db: TestDatabase, fragment: string, timeoutMs?: number): Promise<void> {
  await waitFor(
    `a statement with ${fragment} to run`,
    async () =>
      (
        await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2 AND pid <> pg_backend_pid()`, [
          db.name,
          `%${fragment}%`,
        ])
      ).length > 0,
    timeoutMs,
  );
}
