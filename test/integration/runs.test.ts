import assert from 'node:assert/strict';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

/** The shipped migrations 000–005 plus `extra`, in a folder of their own. */
function coreWith(extra: Record<string, string> = {}): string {
  const dir = migrationsDir(extra);
  for (const name of readdirSync('migrations').filter((n) => n.endsWith('.sql'))) copyFileSync(join('migrations', name), join(dir, name));
  return dir;
}

const migrateRuns = () =>
  db.query(
    `SELECT id, status, inputs, outputs, error, started_at, finished_at FROM runs WHERE blueprint_id = 'core.migrations.apply@v1' ORDER BY started_at`,
  );
const stepsOf = (runId: string) =>
  db.query('SELECT idx, name, status, duration_ms, error FROM steps WHERE run_id = $1 ORDER BY idx', [runId]);

describe('each applying migrate is a run of core.migrations.apply@v1', () => {
  it('a fresh database records one completed run with one step per file, in order', async () => {
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: coreWith(), HOSTNAME: 'pod-abc' });
    assert.equal(run.code, 0, run.stderr);
    const runs = await migrateRuns();
    assert.equal(runs.length, 1);
    const [recorded] = runs;
    assert.equal(recorded!.status, 'completed');
    assert.equal(recorded!.inputs.host, 'pod-abc');
    assert.equal(recorded!.inputs.required, 'all');
    assert.match(recorded!.inputs.version, /^\d+\.\d+\.\d+/);
    assert.equal(recorded!.inputs.files.length, 6);
    assert.ok(recorded!.finished_at >= recorded!.started_at);
    const steps = await stepsOf(recorded!.id);
    assert.deepEqual(
      steps.map((s) => [s.idx, s.name, s.status]),
      recorded!.inputs.files.map((f: string, i: number) => [i, f, 'completed']),
    );
    assert.deepEqual(
      recorded!.outputs.applied.map((a: { id: string }) => a.id),
      recorded!.inputs.files,
    );
  });

  it('a rerun with nothing to apply records nothing', async () => {
    const dir = coreWith();
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    assert.equal((await migrateRuns()).length, 1);
  });

  it('a failing file leaves a failed run with the error, while its own changes are rolled back', async () => {
    const dir = coreWith({ '006_broken.sql': 'CREATE TABLE half_done (id int);\nSELECT 1/0;' });
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 1);
    const [recorded] = await migrateRuns();
    assert.equal(recorded!.status, 'failed');
    assert.equal(recorded!.error.migrationFile, '006_broken.sql');
    assert.equal(recorded!.error.migrationLine, 2);
    assert.equal(recorded!.error.sqlstate, '22012');
    assert.match(recorded!.error.message, /division by zero/);
    const steps = await stepsOf(recorded!.id);
    assert.equal(steps.length, 7);
    assert.deepEqual([steps[6]!.name, steps[6]!.status], ['006_broken', 'failed']);
    assert.equal((await db.query(`SELECT to_regclass('half_done') AS t`))[0]!.t, null);
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM schema_migrations WHERE id = '006_broken'`))[0]!.n, 0);
  });

  it('a migrate run never uses a status that workers claim', async () => {
    const dir = coreWith({ '006_slow.sql': 'SELECT pg_sleep(0.5);' });
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    const claimable = await db.query(`SELECT id FROM runs WHERE status = 'queued'`);
    assert.equal(claimable.length, 0);
  });

  it('of 12 runners started at once only the one that applies records a run', async () => {
    const dir = coreWith();
    const runs = await Promise.all(Array.from({ length: 12 }, () => runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.equal((await migrateRuns()).length, 1);
  });

  it('XYN_RECORD_RUNS=off records nothing', async () => {
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: coreWith(), XYN_RECORD_RUNS: 'off' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await migrateRuns()).length, 0);
  });

  it('a runs table that lacks a column we need is a warning; the job still succeeds', async () => {
    const engine = `CREATE TABLE IF NOT EXISTS blueprints (id text PRIMARY KEY);
INSERT INTO blueprints VALUES ('core.migrations.apply@v1') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS runs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), blueprint_id text, status text);
CREATE TABLE IF NOT EXISTS steps (id int);`;
    const dir = migrationsDir({ '001_initial_schema.sql': engine, '002_more.sql': 'CREATE TABLE IF NOT EXISTS more (id int);' });
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.logs.some((l) => l.level === 40 && /could not record/.test(String(l.msg)) && l.sqlstate === '42703'));
    assert.equal((await db.query('SELECT count(*)::int AS n FROM schema_migrations'))[0]!.n, 2);
  });

  it('status shows the last recorded run', async () => {
    const dir = coreWith();
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, HOSTNAME: 'pod-xyz' })).code, 0);
    const status = await runCli(['status', '--json'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    const doc = JSON.parse(status.stdout) as { last_run: { status: string; host: string } };
    assert.equal(doc.last_run.status, 'completed');
    assert.equal(doc.last_run.host, 'pod-xyz');
    assert.match((await runCli(['status'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).stdout, /last migrate run: completed/);
  });
});
