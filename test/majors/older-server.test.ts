/**
 * A server older than the oldest supported major (PostgreSQL 13, from test/majors) is refused
 * at connect: exit 3 at once, naming its version and the supported range, nothing written.
 * Run by test/matrix.ts (it needs test/majors installed), not by `npm test`.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrationsDir, runCli } from '../support/cli.js';
import { Cluster } from '../support/cluster.js';
import { reservePort } from '../support/proxy.js';

const OLDER_MAJOR = 13;

describe(`PostgreSQL ${OLDER_MAJOR}, older than supported`, () => {
  let dir: string;
  let server: Cluster;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xyn-older-pg-'));
    chmodSync(dir, 0o755);
    server = Cluster.init({ dataDir: join(dir, 'data'), port: await reservePort(), password: 'older-server-pw', major: OLDER_MAJOR });
    await server.start();
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrate, status, verify and rehearse exit 3 at once, naming the version and the supported range; nothing is written', async () => {
    const env = {
      DATABASE_URL: server.url('postgres'),
      XYN_MIGRATIONS_DIR: migrationsDir({ '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id int);' }),
      XYN_WAIT_TIMEOUT: '30',
    };
    for (const command of ['migrate', 'status', 'verify', 'rehearse']) {
      const run = await runCli([command], env);
      assert.equal(run.code, 3, `${command}: ${run.stderr}`);
      assert.match(
        run.lastMessage,
        new RegExp(`PostgreSQL ${OLDER_MAJOR}\\.\\d+ is not supported: xyn-migrate supports PostgreSQL 14 to 18`),
        command,
      );
      assert.ok(run.elapsedMs < 10_000, `${command} refused at once, without waiting out XYN_WAIT_TIMEOUT`);
    }
    const client = new pg.Client(server.url('postgres'));
    await client.connect();
    const { rows } = await client.query(
      `SELECT to_regclass('schema_migrations') AS ledger, to_regclass('widgets') AS widgets, (SELECT count(*)::int FROM pg_database WHERE datname LIKE 'xyn_rehearse_%') AS scratch`,
    );
    await client.end();
    assert.deepEqual(rows[0], { ledger: null, widgets: null, scratch: 0 });
  });
});
