/**
 * A real PgBouncer (Debian's package; .ci/run installs it) in front of the test PostgreSQL, in
 * transaction-, statement- or session-pooling mode. As root it switches to the postgres user (-u), since PgBouncer refuses root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from './proxy.js';
import type { Server } from './postgres.js';

export interface PgBouncer {
  readonly port: number;
  stop(): Promise<void>;
}

const BINARY = '/usr/sbin/pgbouncer';

export async function startPgBouncer(
  server: Server,
  poolSize: number,
  mode: 'transaction' | 'statement' | 'session' = 'transaction',
): Promise<PgBouncer> {
  if (spawnSync(BINARY, ['--version']).status !== 0) throw new Error(`${BINARY} is missing: install Debian's pgbouncer (.ci/run does)`);
  const port = await reservePort();
  const dir = mkdtempSync(join(tmpdir(), 'xyn-pgbouncer-'));
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'users.txt'), `"${server.user}" "${server.password}"\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]
* = host=${server.host} port=${server.port} user=${server.user} password=${server.password}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = ${mode}
default_pool_size = ${poolSize}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = ${join(dir, 'pgbouncer.log')}
`,
  );
  const asRoot = process.getuid?.() === 0;
  const child = spawn(BINARY, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`PgBouncer did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
