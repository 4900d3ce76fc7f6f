/**
 * A PostgreSQL server of a test's own, for what cannot be done to the shared one: crashing it.
 * `crash()` is an immediate shutdown (`pg_ctl stop -m immediate`): no checkpoint, no clean
 * shutdown; the next start runs crash recovery from the WAL, exactly as after a power cut.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from './cluster.js';
import { reservePort } from './proxy.js';

export interface OwnServer {
  readonly url: string;
  crash(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnServer(): Promise<OwnServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-own-pg-'));
  chmodSync(dir, 0o755);
  const server = Cluster.init({ dataDir: join(dir, 'data'), port: await reservePort(), password: 'own-server-pw' });
  await server.start();
  await server.admin('CREATE DATABASE app');
  return {
    url: server.url('app'),
    crash: () => server.crash(),
    restart: () => server.start(),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
