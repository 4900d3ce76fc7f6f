/**
 * The Xyn core schema (migrations/000–005) applied by the real program, exercised as the
 * engine uses it: a queue that workers claim from, DAG edges, steps, cascades; a development
 * database created by the ORM that must end up with the same schema; and `rehearse`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli, type CliResult } from '../support/cli.js';

const MIGRATIONS = 'migrations';
const ALL_IDS = [
  '000_migrations_ledger',
  '001_initial_schema',
  '002_add_scheduling_and_priority',
  '003_add_run_edges_for_dag',
  '004_add_queue_claim_indexes',
  '005_steps_run_idx_constraints',
];
const CLAIM = `SELECT id FROM runs WHERE status = 'queued' AND run_at <= now() ORDER BY priority DESC, run_at FOR UPDATE SKIP LOCKED LIMIT`;
const JOB = 'test.job@v1';

async function migrateReal(target: TestDatabase): Promise<CliResult> {
  return runCli(['migrate'], { DATABASE_URL: target.url, XYN_MIGRATIONS_DIR: MIGRATIONS, XYN_REQUIRED_MIGRATIONS: 'all' });
}

async function migrated(target: TestDatabase): Promise<void> {
  const run = await migrateReal(target);
  assert.equal(run.code, 0, run.stderr);
}

const ledgerIds = async (target: TestDatabase) =>
  (await target.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')).map((r) => r.id);

/** Inserts a run of the test blueprint and returns its id. */
async function newRun(target: TestDatabase, fields: { status?: string; priority?: number; parent?: string } = {}): Promise<string> {
  const [row] = await target.query<{ id: string }>(
    `INSERT INTO runs (blueprint_id, status, priority, parent_run_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [JOB, fields.status ?? 'queued', fields.priority ?? 0, fields.parent ?? null],
  );
  return row!.id;
}

/** `promise` fails with SQLSTATE `code`, raised by the constraint `constraint`. */
async function rejectsWith(promise: Promise<unknown>, code: string, constraint: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof pg.DatabaseError, `expected a database error, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.constraint, constraint, error.message);
    return true;
  });
}

/** The runs of core.migrations.apply@v1: each migrate job that applied files, with its steps in order. */
async function recordedJobs(target: TestDatabase): Promise<{ status: string; steps: string[] }[]> {
  const rows = await target.query<{ status: string; steps: string[] }>(
    `SELECT r.status, coalesce(array_agg(s.name ORDER BY s.idx) FILTER (WHERE s.id IS NOT NULL), '{}') AS steps
     FROM runs r LEFT JOIN steps s ON s.run_id = r.id
     WHERE r.blueprint_id = 'core.migrations.apply@v1'
     GROUP BY r.id, r.status ORDER BY min(r.created_at)`,
  );
  return rows.map((r) => ({ status: r.status, steps: r.steps }));
}

const claimIds = async (client: pg.Client, limit: number) =>
  (await client.query<{ id: string }>(`${CLAIM} ${limit}`)).rows.map((r) => r.id);

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Index Name'?: string;
  readonly 'Relation Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

describe('schema: the migrated database is a working queue', () => {
  beforeEach(async () => {
    await migrated(db);
    await db.query(`INSERT INTO blueprints (id, name, version) VALUES ($1, 'test.job', 1)`, [JOB]);
  });

  it('migrate applies all six files, registers the blueprint core.migrations.apply@v1 and records itself as a run of it', async () => {
    assert.deepEqual(await ledgerIds(db), ALL_IDS);
    const rows = await db.query(`SELECT id, name, version FROM blueprints WHERE id = 'core.migrations.apply@v1'`);
    assert.deepEqual(rows, [{ id: 'core.migrations.apply@v1', name: 'core.migrations.apply', version: 1 }]);
    assert.deepEqual(await recordedJobs(db), [{ status: 'completed', steps: ALL_IDS }]);
  });

  it('the claim query is an index scan on runs_claim_idx, in claim order without a sort, over 100k runs', async () => {
    // 100k runs: 3% queued (due, spread over priorities), 1% scheduled (future), 1% running,
    // 5% failed, the rest completed: the shape of a queue that has been in use for a while.
    await db.query(
      `
      INSERT INTO runs (blueprint_id, status, priority, run_at, created_at, finished_at)
      SELECT $1,
             CASE WHEN g % 100 < 3 THEN 'queued'
                  WHEN g % 100 = 3 THEN 'scheduled'
                  WHEN g % 100 = 4 THEN 'running'
                  WHEN g % 100 < 10 THEN 'failed'
                  ELSE 'completed' END,
             g % 7,
             CASE WHEN g % 100 = 3 THEN now() + interval '1 day' ELSE now() - g * interval '1 second' END,
             now() - g * interval '1 second',
             CASE WHEN g % 100 >= 5 THEN now() - g * interval '1 second' + interval '5 seconds' END
      FROM generate_series(1, 100000) AS g`,
      [JOB],
    );
    await db.query('ANALYZE runs');

    const [explained] = await db.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${CLAIM} 10`);
    const nodes = planNodes(explained!['QUERY PLAN'][0]!.Plan);
    const shape = nodes.map((n) => `${n['Node Type']}${n['Index Name'] ? ` on ${n['Index Name']}` : ''}`);
    assert.ok(
      nodes.some((n) => n['Node Type'] === 'Index Scan' && n['Index Name'] === 'runs_claim_idx'),
      `plan: ${shape.join(' → ')}`,
    );
    assert.ok(!nodes.some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Seq Scan'), `plan: ${shape.join(' → ')}`);

    const claimed = await db.query<{ priority: number; status: string }>(
      `SELECT r.priority, r.status FROM runs r WHERE r.id IN (${CLAIM} 10) ORDER BY r.priority DESC`,
    );
    assert.equal(claimed.length, 10);
    assert.ok(
      claimed.every((r) => r.status === 'queued' && r.priority === 6),
      'the ten claimed runs are queued runs of the highest priority',
    );
  });

  it('two concurrent claimers never get the same run; a committed claim is gone, a rolled-back one comes back', async () => {
    for (let i = 0; i < 12; i++) await newRun(db, { priority: i });
    const [first, second] = [await db.client(), await db.client()];

    await first.query('BEGIN');
    const firstIds = await claimIds(first, 5);
    await second.query('BEGIN');
    const secondIds = await claimIds(second, 5);

    assert.equal(firstIds.length, 5);
    assert.equal(secondIds.length, 5);
    assert.deepEqual(
      firstIds.filter((id) => secondIds.includes(id)),
      [],
      'the two claims share no run',
    );

    await first.query(`UPDATE runs SET status = 'running', started_at = now() WHERE id = ANY($1::uuid[])`, [firstIds]);
    await first.query('COMMIT');

    // A third claimer, while the second still holds its five: only the two nobody has.
    const third = await db.client();
    await third.query('BEGIN');
    const thirdIds = await claimIds(third, 10);
    await third.query('ROLLBACK');
    assert.equal(thirdIds.length, 2);
    assert.deepEqual(
      thirdIds.filter((id) => firstIds.includes(id) || secondIds.includes(id)),
      [],
    );

    await second.query('ROLLBACK');
    const afterRollback = await claimIds(third, 10);
    assert.deepEqual(
      [...afterRollback].sort(),
      [...secondIds, ...thirdIds].sort(),
      "the second claimer's runs are queued again, the first one's are not",
    );
    const running = await db.query<{ id: string }>(`SELECT id FROM runs WHERE blueprint_id = $1 AND status = 'running'`, [JOB]);
    assert.deepEqual(running.map((r) => r.id).sort(), [...firstIds].sort());
  });

  it('four workers draining 200 queued runs concurrently claim every run exactly once', async () => {
    await db.query(`INSERT INTO runs (blueprint_id, status, priority) SELECT $1, 'queued', g % 3 FROM generate_series(1, 200) AS g`, [JOB]);
    const worker = async (): Promise<string[]> => {
      const client = await db.client();
      const mine: string[] = [];
      for (;;) {
        await client.query('BEGIN');
        const ids = await claimIds(client, 5);
        if (ids.length === 0) {
          await client.query('COMMIT');
          return mine;
        }
        await client.query(`UPDATE runs SET status = 'running' WHERE id = ANY($1::uuid[])`, [ids]);
        await client.query('COMMIT');
        mine.push(...ids);
      }
    };
    const claims = await Promise.all([worker(), worker(), worker(), worker()]);
    const all = claims.flat();
    assert.equal(all.length, 200);
    assert.equal(new Set(all).size, 200, 'no run was claimed twice');
    const [left] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE blueprint_id = $1 AND status <> 'running'`, [JOB]);
    assert.equal(left!.n, '0');
  });

  it('refuses an edge from a run to itself (23514, run_edges_no_self_edge_check)', async () => {
    const run = await newRun(db);
    await rejectsWith(
      db.query('INSERT INTO run_edges (parent_run_id, child_run_id) VALUES ($1, $1)', [run]),
      '23514',
      'run_edges_no_self_edge_check',
    );
  });

  it('refuses the same edge twice (23505, run_edges_pkey)', async () => {
    const [parent, child] = [await newRun(db), await newRun(db)];
    await db.query('INSERT INTO run_edges (parent_run_id, child_run_id) VALUES ($1, $2)', [parent, child]);
    await rejectsWith(
      db.query('INSERT INTO run_edges (parent_run_id, child_run_id) VALUES ($1, $2)', [parent, child]),
      '23505',
      'run_edges_pkey',
    );
    // The reverse direction is another edge (a cycle is not the schema's business).
    await db.query('INSERT INTO run_edges (parent_run_id, child_run_id) VALUES ($1, $2)', [child, parent]);
  });

  it('refuses a second step at the same position of a run (23505, steps_run_id_idx_key), allows it in another run', async () => {
    const [run, other] = [await newRun(db), await newRun(db)];
    await db.query(`INSERT INTO steps (run_id, idx, name) VALUES ($1, 0, 'fetch')`, [run]);
    await rejectsWith(db.query(`INSERT INTO steps (run_id, idx, name) VALUES ($1, 0, 'again')`, [run]), '23505', 'steps_run_id_idx_key');
    await db.query(`INSERT INTO steps (run_id, idx, name) VALUES ($1, 0, 'fetch')`, [other]);
  });

  it('refuses a negative step position (23514, steps_idx_check)', async () => {
    const run = await newRun(db);
    await rejectsWith(
      db.query(`INSERT INTO steps (run_id, idx, name) VALUES ($1, -1, 'before the start')`, [run]),
      '23514',
      'steps_idx_check',
    );
  });

  it('refuses an unknown run status (23514, runs_status_check), on insert and on update', async () => {
    await rejectsWith(db.query(`INSERT INTO runs (blueprint_id, status) VALUES ($1, 'paused')`, [JOB]), '23514', 'runs_status_check');
    const run = await newRun(db);
    await rejectsWith(db.query(`UPDATE runs SET status = 'done' WHERE id = $1`, [run]), '23514', 'runs_status_check');
  });

  it('accepts every status of the lifecycle, scheduled (002) included, with run_at and priority defaulted', async () => {
    for (const status of ['queued', 'scheduled', 'running', 'completed', 'failed', 'cancelled']) await newRun(db, { status });
    const [row] = await db.query<{ priority: number; due: boolean }>(
      `INSERT INTO runs (blueprint_id, status) VALUES ($1, 'scheduled') RETURNING priority, run_at <= now() AS due`,
      [JOB],
    );
    assert.deepEqual({ ...row }, { priority: 0, due: true });
  });

  it('deleting a run deletes its steps, its edges on both sides and its child runs (transitively), nothing else', async () => {
    const doomed = await newRun(db);
    const child = await newRun(db, { parent: doomed });
    const grandchild = await newRun(db, { parent: child });
    const upstream = await newRun(db);
    const downstream = await newRun(db);
    const bystander = await newRun(db);
    for (const run of [doomed, child, grandchild, bystander]) {
      await db.query(`INSERT INTO steps (run_id, idx, name) VALUES ($1, 0, 'a'), ($1, 1, 'b')`, [run]);
    }
    await db.query(`INSERT INTO run_edges (parent_run_id, child_run_id) VALUES ($1, $2), ($3, $1), ($1, $4), ($3, $4), ($4, $5)`, [
      doomed,
      downstream,
      upstream,
      bystander,
      child,
    ]);

    await db.query('DELETE FROM runs WHERE id = $1', [doomed]);

    const runs = await db.query<{ id: string }>('SELECT id FROM runs WHERE blueprint_id = $1', [JOB]);
    assert.deepEqual(runs.map((r) => r.id).sort(), [upstream, downstream, bystander].sort());
    const steps = await db.query<{ run_id: string; n: string }>(
      `SELECT run_id, count(*) AS n FROM steps WHERE run_id = ANY($1::uuid[]) GROUP BY run_id`,
      [[doomed, child, grandchild, bystander]],
    );
    assert.deepEqual(
      steps.map((s) => ({ ...s })),
      [{ run_id: bystander, n: '2' }],
    );
    const edges = await db.query<{ parent_run_id: string; child_run_id: string }>('SELECT parent_run_id, child_run_id FROM run_edges');
    assert.deepEqual(
      edges.map((e) => ({ ...e })),
      [{ parent_run_id: upstream, child_run_id: bystander }],
    );
  });
});

/**
 * A description of the catalog of the public schema, as sorted lines. Column order is left
 * out: an ORM lays a table out in its own order, and the migrations append later columns at the
 * end; what a query sees by name is the same. Constraint and index names are kept: PostgreSQL's
 * default names, which the ORM gets, are the names the migrations use.
 */
interface Catalog {
  readonly tables: string[];
  readonly columns: string[];
  readonly constraints: string[];
  readonly indexes: string[];
}

async function catalogOf(target: TestDatabase): Promise<Catalog> {
  const lines = async (sql: string) =>
    (await target.query<{ line: string }>(`SELECT line FROM (${sql}) AS q ORDER BY line`)).map((r) => r.line);
  const inPublic = `c.relnamespace = 'public'::regnamespace`;
  return {
    tables: await lines(
      `SELECT format('%s (%s)', c.relname, c.relkind) AS line FROM pg_class c WHERE ${inPublic} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    ),
    columns: await lines(`
      SELECT format('%s.%s %s%s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                    coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                    CASE a.attidentity WHEN 'a' THEN ' generated always as identity'
                                       WHEN 'd' THEN ' generated by default as identity' ELSE '' END) AS line
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE ${inPublic} AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`),
    constraints: await lines(`
      SELECT format('%s: %s %s', c.relname, con.conname, pg_get_constraintdef(con.oid)) AS line
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
      WHERE ${inPublic}`),
    indexes: await lines(`
      SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS line
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
      WHERE ${inPublic} AND c.relname IN ('runs', 'steps', 'run_edges', 'blueprints')`),
  };
}

function difference(fresh: readonly string[], other: readonly string[]): { onlyInFresh: string[]; onlyInOrm: string[] } {
  return { onlyInFresh: fresh.filter((l) => !other.includes(l)), onlyInOrm: other.filter((l) => !fresh.includes(l)) };
}

/** `line` of the fresh catalog with the object name `from` replaced by `to`: its double under the ORM's name. */
function renamed(lines: readonly string[], from: string, to: string): string {
  const line = lines.find((l) => l.includes(` ${from} `));
  assert.ok(line, `the fresh database has ${from}`);
  return line.replace(` ${from} `, ` ${to} `);
}

describe('schema: a development database whose tables the ORM created', () => {
  const ormSchema = readFileSync(new URL('../fixtures/orm-schema.sql', import.meta.url), 'utf8');

  it("migrates cleanly: exit 0, all six ledger rows, the ORM's rows kept and brought to the new shape", async () => {
    await db.query(ormSchema);
    const run = await migrateReal(db);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await ledgerIds(db), ALL_IDS);

    const runs = await db.query<{
      id: string;
      status: string;
      priority: number;
      run_at_is_created_at: boolean;
      parent_run_id: string | null;
    }>(
      `SELECT id, status, priority, run_at = created_at AS run_at_is_created_at, parent_run_id
       FROM runs WHERE blueprint_id = 'orm.demo@v1' ORDER BY id`,
    );
    assert.deepEqual(
      runs.map((r) => ({ ...r })),
      [
        { id: '00000000-0000-4000-8000-000000000001', status: 'completed', priority: 5, run_at_is_created_at: true, parent_run_id: null },
        {
          id: '00000000-0000-4000-8000-000000000002',
          status: 'scheduled',
          priority: 0,
          run_at_is_created_at: true,
          parent_run_id: '00000000-0000-4000-8000-000000000001',
        },
        { id: '00000000-0000-4000-8000-000000000003', status: 'queued', priority: 0, run_at_is_created_at: true, parent_run_id: null },
      ],
    );
    const [counts] = await db.query<{ steps: string; edges: string }>(
      `SELECT (SELECT count(*) FROM steps WHERE run_id = '00000000-0000-4000-8000-000000000001') AS steps, (SELECT count(*) FROM run_edges) AS edges`,
    );
    assert.deepEqual({ ...counts }, { steps: '2', edges: '1' });
    const notNull = await db.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = 'runs'::regclass AND attname IN ('run_at', 'priority') AND attnotnull ORDER BY attname`,
    );
    assert.deepEqual(
      notNull.map((r) => r.attname),
      ['priority', 'run_at'],
    );
  });

  it('records the job as a run of core.migrations.apply@v1 with one step per file, as on a fresh database, without a warning', async () => {
    await db.query(ormSchema);
    const run = await migrateReal(db);
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.logs
      .filter((l) => typeof l.level === 'number' && l.level >= 40)
      .map((l) => ({ msg: l.msg, sqlstate: l.sqlstate, reason: l.reason }));
    assert.deepEqual(warnings, []);
    assert.deepEqual(await recordedJobs(db), [{ status: 'completed', steps: ALL_IDS }]);
  });

  it("ends with the same schema as a fresh database migrated the same way, apart from the ORM's own copies of an index or constraint", async () => {
    await db.query(ormSchema);
    const fresh = await freshDatabase();
    try {
      const [ormRun, freshRun] = await Promise.all([migrateReal(db), migrateReal(fresh)]);
      assert.equal(ormRun.code, 0, ormRun.stderr);
      assert.equal(freshRun.code, 0, freshRun.stderr);
      const [want, got] = [await catalogOf(fresh), await catalogOf(db)];

      // The documented difference (migrations/README.md, "Development and production"): an index
      // or constraint the ORM created under another name exists twice. Here exactly these, each
      // the same definition as the migrations' own under the ORM's name:
      const doubles = {
        constraints: [renamed(want.constraints, 'run_edges_no_self_edge_check', 'run_edges_check')],
        indexes: [
          renamed(want.indexes, 'run_edges_child_run_id_idx', 'run_edges_child_run_id_index'),
          renamed(want.indexes, 'runs_blueprint_id_created_at_idx', 'runs_blueprint_id_created_at_index'),
          renamed(want.indexes, 'steps_run_id_idx', 'steps_run_id_index'),
        ].sort(),
      };
      assert.deepEqual(
        {
          tables: difference(want.tables, got.tables),
          columns: difference(want.columns, got.columns),
          constraints: difference(want.constraints, got.constraints),
          indexes: difference(want.indexes, got.indexes),
        },
        {
          tables: { onlyInFresh: [], onlyInOrm: [] },
          columns: { onlyInFresh: [], onlyInOrm: [] },
          constraints: { onlyInFresh: [], onlyInOrm: doubles.constraints },
          indexes: { onlyInFresh: [], onlyInOrm: doubles.indexes },
        },
      );
    } finally {
      await fresh.drop();
    }
  });
});

describe('schema: rehearse over the migrations', () => {
  /** The scratch databases a rehearsal logged, and those of them still on the server. */
  async function scratchDatabases(run: CliResult): Promise<{ logged: string[]; left: string[] }> {
    const logged = [
      ...new Set(run.logs.map((l) => l.database).filter((d): d is string => typeof d === 'string' && d.startsWith('xyn_rehearse_'))),
    ];
    const left = await db.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'xyn\\_rehearse\\_%' AND datname = ANY($1)`,
      [logged],
    );
    return { logged, left: left.map((r) => r.datname) };
  }

  it('passes over migrations/ and leaves no scratch database and nothing in the target database', async () => {
    const run = await runCli(['rehearse'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: MIGRATIONS });
    assert.equal(run.code, 0, run.stderr);
    const scratch = await scratchDatabases(run);
    assert.equal(scratch.logged.length, 1, `the rehearsal names its scratch database: ${run.stderr}`);
    assert.deepEqual(scratch.left, []);
    const [target] = await db.query<{ tables: string }>(
      `SELECT count(*) AS tables FROM pg_class WHERE relnamespace = 'public'::regnamespace`,
    );
    assert.equal(target!.tables, '0', 'the rehearsal works on its scratch database only');
  });

  it('fails (exit 1) naming 006_bad.sql when that file is not idempotent, and leaves no scratch database', async () => {
    const files: Record<string, string> = {};
    for (const name of readdirSync(MIGRATIONS).filter((n) => n.endsWith('.sql')))
      files[name] = readFileSync(join(MIGRATIONS, name), 'utf8');
    assert.equal(Object.keys(files).length, 6);
    files['006_bad.sql'] = 'ALTER TABLE runs ADD COLUMN labels jsonb;\n';

    const run = await runCli(['rehearse'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /006_bad\.sql/);
    assert.match(run.lastMessage, /not idempotent/);
    assert.doesNotMatch(run.lastMessage, /00[0-5]_/, 'no real migration is blamed');
    const scratch = await scratchDatabases(run);
    assert.equal(scratch.logged.length, 1, `the rehearsal names its scratch database: ${run.stderr}`);
    assert.deepEqual(scratch.left, []);
  });

  it('sees a rerun that changes only how a column is generated (identity by default → always)', async () => {
    const files = {
      '001_tags.sql': `CREATE TABLE IF NOT EXISTS tags (id int NOT NULL, name text);
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'tags'::regclass AND attname = 'id' AND attidentity = 'd') THEN
    ALTER TABLE tags ALTER COLUMN id SET GENERATED ALWAYS;
  ELSIF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'tags'::regclass AND attname = 'id' AND attidentity <> '') THEN
    ALTER TABLE tags ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
  END IF;
END $$;
`,
    };
    const run = await runCli(['rehearse'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /001_tags\.sql/);
    assert.match(run.lastMessage, /identity always/);
  });
});
