import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrationsDir, runCli, startCli } from '../support/cli.js';
import { startPrimaryAndStandby, type Replication } from '../support/replica.js';

const files = { '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id int);' };

describe('pointed at a hot standby (real streaming replication)', () => {
  let replication: Replication;
  before(async () => (replication = await startPrimaryAndStandby()));
  after(async () => replication.stop());

  it('status and verify work on the standby (read-only commands)', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], { DATABASE_URL: replication.primaryUrl, XYN_MIGRATIONS_DIR: dir })).code, 0);
    const deadline = Date.now() + 10_000;
    let verify = await runCli(['verify'], { DATABASE_URL: replication.standbyUrl, XYN_MIGRATIONS_DIR: dir });
    while (verify.code !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200)); // replay lag
      verify = await runCli(['verify'], { DATABASE_URL: replication.standbyUrl, XYN_MIGRATIONS_DIR: dir });
    }
    assert.equal(verify.code, 0, verify.stderr);
    const status = await runCli(['status', '--json'], { DATABASE_URL: replication.standbyUrl, XYN_MIGRATIONS_DIR: dir });
    assert.equal(status.code, 0, status.stderr);
  });

  it('migrate waits for a writable primary until the deadline, then exits 3 saying it is a standby', async () => {
    const run = await runCli([], {
      DATABASE_URL: replication.standbyUrl,
      XYN_MIGRATIONS_DIR: migrationsDir({ ...files, '002_more.sql': 'SELECT 1;' }),
      XYN_WAIT_TIMEOUT: '1.5',
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /standby in recovery/);
    assert.ok(run.logs.some((l) => l.msg === 'waiting for PostgreSQL' && /standby/.test(String(l.reason))));
  });

  it('a failover during the wait (the standby is promoted) lets the job proceed', async () => {
    const dir = migrationsDir({ ...files, '002_after_failover.sql': 'CREATE TABLE IF NOT EXISTS after_failover (id int);' });
    const { result } = startCli([], { DATABASE_URL: replication.standbyUrl, XYN_MIGRATIONS_DIR: dir, XYN_WAIT_TIMEOUT: '30' });
    await new Promise((r) => setTimeout(r, 1500));
    await replication.promote();
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    const client = new pg.Client(replication.standbyUrl);
    await client.connect();
    const { rows } = await client.query(`SELECT id FROM schema_migrations ORDER BY id`);
    await client.end();
    assert.deepEqual(
      rows.map((r) => r.id),
      ['001_initial_schema', '002_after_failover'],
    );
  });
});
