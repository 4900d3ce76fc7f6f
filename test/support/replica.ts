/**
 * A primary and a real streaming-replication standby, for the tests of "not a writable primary".
 * The standby starts from a base backup of the primary: a copy of its data directory taken while
 * it was cleanly shut down (the npm server packages ship no pg_basebackup), with standby.signal and
 * primary_conninfo, so it streams WAL from the primary like any hot standby.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from './cluster.js';
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
  const settings = { fsync: 'off', wal_level: 'replica' };
  const primary = Cluster.init({ dataDir: join(dir, 'primary'), port: primaryPort, password: PASSWORD, settings });
  await primary.start();
  await primary.admin('CREATE DATABASE app');
  await primary.stop();
  execFileSync('cp', ['-a', join(dir, 'primary'), join(dir, 'standby')]);
  writeFileSync(join(dir, 'standby', 'standby.signal'), '');
  appendFileSync(
    join(dir, 'standby', 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres password=${PASSWORD} application_name=standby'\n`,
  );
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', join(dir, 'standby')]);
  await primary.start();
  const standby = Cluster.existing({ dataDir: join(dir, 'standby'), port: standbyPort, password: PASSWORD, settings });
  await standby.start(); // a hot standby accepts read-only connections
  return {
    primaryUrl: primary.url('app'),
    standbyUrl: standby.url('app'),
    promote: () => standby.admin('SELECT pg_promote()'),
    stop: async () => {
      await standby.stop();
      await primary.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
