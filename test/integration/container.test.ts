import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

/**
 * What the image does, without a Docker engine: a private mount namespace whose root filesystem
 * is read-only with only a tmpfs writable, and the program running as the image's numeric
 * non-root user 65532 (needs root to set up, as CI has).
 */
const SANDBOX = [
  ...['unshare', '--mount', '--propagation', 'private', 'sh', '-c'],
  'mount -o remount,bind,ro / && mount -t tmpfs -o size=1m tmpfs /mnt && exec setpriv --reuid 65532 --regid 65532 --clear-groups "$@"',
  'sandbox',
];

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

describe('as the container runs it: user 65532, read-only root filesystem, only a tmpfs writable', () => {
  it('the sandbox really is read-only and unprivileged', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test sets up a mount namespace and needs root (CI runs as root)');
    const probe = await new Promise<string>((resolve) =>
      execFile(
        SANDBOX[0]!,
        [...SANDBOX.slice(1), 'sh', '-c', 'id -u; touch /probe 2>&1 || true; touch /mnt/probe && echo tmpfs-ok'],
        (_e, out) => resolve(out),
      ),
    );
    assert.match(probe, /^65532\n/);
    assert.match(probe, /Read-only file system/);
    assert.match(probe, /tmpfs-ok/);
  });

  it('applies the shipped migrations and exits 0, then a rerun exits 0', async () => {
    const env = {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: 'migrations',
      XYN_REQUIRED_MIGRATIONS: 'all',
      XYN_TERMINATION_LOG: '/mnt/termination-log',
    };
    const run = await runCli(['migrate'], env, SANDBOX);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM schema_migrations'))[0]!.n, 6);
    const rerun = await runCli(['migrate'], env, SANDBOX);
    assert.equal(rerun.code, 0, rerun.stderr);
  });

  it('a failure is reported the same way (exit 1, the reason on stderr), nothing needs a writable disk', async () => {
    const dir = migrationsDir({ '001_initial_schema.sql': 'SELEC 1;' });
    chmodSync(dir, 0o755);
    const run = await runCli(
      ['migrate'],
      { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_TERMINATION_LOG: '/mnt/termination-log' },
      SANDBOX,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /001_initial_schema\.sql:1:1/);
    assert.ok(!/EROFS|EACCES/.test(run.stderr));
  });
});
