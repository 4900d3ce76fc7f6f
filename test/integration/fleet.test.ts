/**
 * Many databases and schemas in one job (README, "Many databases in one job").
 */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { freshDatabase, urlFor, testServer, type TestDatabase } from '../support/postgres.js';
import { execFile } from 'node:child_process';
import { CLI, migrationsDir, runCli, startCli, untilLogged } from '../support/cli.js';
import { reservePort } from '../support/proxy.js';
import { lockKey } from '../../src/db/lock.js';

const files = {
  '001_items.sql': 'CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY);',
  '002_second.sql': `DO $$BEGIN IF to_regclass('poison') IS NOT NULL THEN RAISE EXCEPTION 'this tenant is poisoned'; END IF; END$$;\nCREATE TABLE IF NOT EXISTS second (id int);`,
};

interface FleetDoc {
  targets: {
    target: string;
    schema: string | null;
    status: string;
    exit_code: number | null;
    applied: string[];
    error: { message: string } | null;
    latest?: string | null;
  }[];
  summary: Record<string, number>;
  skew?: Record<string, number>;
}

let control: TestDatabase;
let tenants: TestDatabase[];
let folder: string;
before(() => (folder = mkdtempSync(join(tmpdir(), 'xyn-fleet-'))));
after(() => rmSync(folder, { recursive: true, force: true }));
beforeEach(async () => {
  control = await freshDatabase('fleetctl');
  tenants = await Promise.all([1, 2, 3].map(() => freshDatabase('tenant')));
});
afterEach(async () => Promise.all([control, ...tenants].map((d) => d.drop())));

function targetsFile(lines: string[]): string {
  const path = join(folder, `targets-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(path, lines.join('\n'));
  return path;
}

const env = (targets: string, more: Record<string, string> = {}) => ({
  DATABASE_URL: control.url,
  XYN_MIGRATIONS_DIR: migrationsDir(files),
  XYN_TARGETS_FILE: targets,
  XYN_WAIT_TIMEOUT: '2',
  ...more,
});
const ledgerOf = async (db: TestDatabase, schema = 'public') =>
  (await db.query(`SELECT id FROM ${schema}.schema_migrations ORDER BY id`)).map((r) => r.id as string);

describe('fleet: migrate --targets-file', () => {
  it('a mixed list (databases, schemas, comments, blank lines) with one failing tenant: the others done, exit 1, the JSON says which; a rerun', async () => {
    const [a, b, c] = tenants as [TestDatabase, TestDatabase, TestDatabase];
    await b.query('CREATE TABLE poison (id int)');
    const list = targetsFile(['# tenants of the fleet', a.name, '', `${b.name}   # this one fails`, `${c.name} acme`, `${c.name} globex`]);
    const run = await runCli(['migrate', '--json'], env(list));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => [t.target, t.schema, t.status, t.exit_code]),
      [
        [a.name, null, 'applied', 0],
        [b.name, null, 'failed', 1],
        [`${c.name} acme`, 'acme', 'applied', 0],
        [`${c.name} globex`, 'globex', 'applied', 0],
      ],
    );
    assert.match(doc.targets[1]!.error!.message, /002_second\.sql:1:1 failed: this tenant is poisoned/);
    assert.deepEqual(
      Object.entries(doc.targets[1]!.error!).filter(([k]) => k.startsWith('migration')),
      [
        ['migration', '002_second'],
        ['migration_file', '002_second.sql'],
        ['migration_line', 1],
        ['migration_column', 1],
      ],
      'the error fields as in the --json error document of a single run: file, line and column, snake_case',
    );
    assert.deepEqual(doc.targets[0]!.applied, ['001_items', '002_second']);
    assert.deepEqual(doc.summary, { targets: 4, applied: 3, failed: 1 });
    assert.deepEqual(await ledgerOf(a), ['001_items', '002_second']);
    assert.deepEqual(await ledgerOf(b), ['001_items'], 'the failing tenant keeps what it applied before the failure');
    assert.deepEqual(await ledgerOf(c, 'acme'), ['001_items', '002_second']);
    assert.deepEqual(
      await c.query(`SELECT to_regclass('globex.items') IS NOT NULL AS t, to_regclass('public.items') IS NULL AS u`),
      [{ t: true, u: true }],
      'the files ran in the tenant schema',
    );
    assert.match(run.lastMessage, /1 of 4 targets did not end well/);
    for (const t of doc.targets) {
      assert.equal(run.logs.filter((l) => l.target === t.target && l.status !== undefined).length, 1, `one log line for ${t.target}`);
    }

    await b.query('DROP TABLE poison');
    const rerun = await runCli(['migrate', '--json'], env(list));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(
      (JSON.parse(rerun.stdout) as FleetDoc).targets.map((t) => t.status),
      ['up-to-date', 'applied', 'up-to-date', 'up-to-date'],
    );
  });

  it('a target that applied 001 and failed at 002 reports applied [001] (JSON, its log line, the table), whatever its status', async () => {
    const [a, b, c] = tenants as [TestDatabase, TestDatabase, TestDatabase];
    await Promise.all([b, c].map((db) => db.query('CREATE TABLE poison (id int)')));
    const run = await runCli(['migrate', '--json'], env(targetsFile([a.name, b.name])));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => [t.target, t.status, t.applied]),
      [
        [a.name, 'applied', ['001_items', '002_second']],
        [b.name, 'failed', ['001_items']],
      ],
    );
    assert.deepEqual(await ledgerOf(b), ['001_items'], 'what it lists is what the target committed');
    assert.equal(run.logs.find((l) => l.target === b.name && l.status === 'failed')?.applied, 1);

    const table = await runCli(['migrate'], env(targetsFile([c.name]), { XYN_LOG_FORMAT: 'pretty' }));
    assert.equal(table.code, 1, table.stderr);
    const row = table.stdout.split('\n').find((line) => line.startsWith(c.name));
    assert.match(row ?? '', new RegExp(`^${c.name}\\s+failed\\s+1\\s`), table.stdout);
    assert.deepEqual(await ledgerOf(c), ['001_items']);
  });

  it("a session reused for the next schema starts clean: what one tenant's file SET for the session does not reach the next", async () => {
    const c = tenants[2]!;
    const leaky = {
      '001_seen.sql': `CREATE TABLE IF NOT EXISTS seen (marker text);
INSERT INTO seen SELECT coalesce(nullif(current_setting('tenant.marker', true), ''), 'none');
SELECT set_config('tenant.marker', 'leaked', false);`,
    };
    const list = targetsFile([`${c.name} alpha`, `${c.name} beta`, `${c.name} gamma`]);
    const run = await runCli(['migrate', '--json'], env(list, { XYN_MIGRATIONS_DIR: migrationsDir(leaky), XYN_CONCURRENCY: '1' }));
    assert.equal(run.code, 0, run.stderr);
    for (const schema of ['alpha', 'beta', 'gamma']) {
      assert.deepEqual(await c.query(`SELECT marker FROM ${schema}.seen`), [{ marker: 'none' }], schema);
    }
  });

  it('a session reused for the next schema has no temporary table of the tenant before (CREATE TEMP TABLE IF NOT EXISTS … AS)', async () => {
    const c = tenants[2]!;
    const temp = {
      '001_count.sql': `CREATE TEMP TABLE IF NOT EXISTS tenant_scratch AS SELECT current_schema()::text AS tenant;
CREATE TABLE counted AS SELECT tenant FROM tenant_scratch;`,
    };
    const list = targetsFile([`${c.name} alpha`, `${c.name} beta`]);
    const run = await runCli(['migrate', '--json'], env(list, { XYN_MIGRATIONS_DIR: migrationsDir(temp), XYN_CONCURRENCY: '1' }));
    assert.equal(run.code, 0, run.stderr);
    for (const schema of ['alpha', 'beta']) {
      assert.deepEqual(await c.query(`SELECT tenant FROM ${schema}.counted`), [{ tenant: schema }], schema);
    }
    assert.deepEqual(await ledgerOf(c, 'beta'), ['001_count']);
  });

  it('a session is reused only with every connection parameter the same: a second URL with a wrong password fails (exit 3) as it would alone', async () => {
    const c = tenants[2]!;
    const good = urlFor(c.name, testServer());
    const wrong = urlFor(c.name, testServer(), { password: 'not-the-password' });
    const list = targetsFile([`${good} alpha`, `${wrong} beta`]);
    const run = await runCli(['migrate', '--json'], env(list, { XYN_CONCURRENCY: '1' }));
    assert.equal(run.code, 3, run.stderr);
    const doc = JSON.parse(run.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => [t.schema, t.status, t.exit_code]),
      [
        ['alpha', 'applied', 0],
        ['beta', 'failed', 3],
      ],
    );
    assert.deepEqual(await ledgerOf(c, 'alpha'), ['001_items', '002_second']);
    assert.deepEqual(await c.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'beta'`), [], 'nothing was done in beta');
    assert.ok(!`${run.stdout}${run.stderr}`.includes('not-the-password'));
  });

  it('the lock is per ledger: a tenant whose lock another runner holds waits (exit 4 here); its neighbour in the same database does not', async () => {
    const c = tenants[2]!;
    const holder = await c.client();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey({ schema: 'alpha', table: 'schema_migrations' }).toString()]);
      const list = targetsFile([`${c.name} alpha`, `${c.name} beta`]);
      const run = await runCli(['migrate', '--json'], env(list, { XYN_CONCURRENCY: '2', XYN_LOCK_TIMEOUT: '2' }));
      assert.equal(run.code, 4, run.stderr);
      assert.deepEqual(
        (JSON.parse(run.stdout) as FleetDoc).targets.map((t) => [t.schema, t.status, t.exit_code]),
        [
          ['alpha', 'failed', 4],
          ['beta', 'applied', 0],
        ],
      );
      assert.deepEqual(await ledgerOf(c, 'beta'), ['001_items', '002_second']);
    } finally {
      await holder.end();
    }
  });

  it('XYN_CONCURRENCY bounds the connections: never more than 2 at once over 3 tenants', async () => {
    const slow = { ...files, '003_slow.sql': 'SELECT pg_sleep(0.4);' };
    const list = targetsFile(tenants.map((t) => t.name));
    // The workers' sessions only: a file slowed by a loaded machine past a quarter of
    // XYN_MAX_BLOCKING would add its blocking watchdog's connection (documented) to the count.
    const { result } = startCli(['migrate'], {
      ...env(list, { XYN_CONCURRENCY: '2', XYN_MAX_BLOCKING: '0' }),
      XYN_MIGRATIONS_DIR: migrationsDir(slow),
    });
    let most = 0;
    let finished = false;
    void result.then(() => (finished = true));
    while (!finished) {
      const [row] = await control.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'xyn-migrate' AND datname = ANY($1)`,
        [tenants.map((t) => t.name)],
      );
      most = Math.max(most, Number(row!.n));
      await new Promise((r) => setTimeout(r, 20));
    }
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(most >= 1 && most <= 2, `at most 2 connections at once, saw ${most}`);
  });

  it('an unreachable tenant fails with exit 3 after its own wait; the others are done', async () => {
    const port = await reservePort();
    const list = targetsFile([tenants[0]!.name, `postgres://nobody:never-shown-secret@127.0.0.1:${port}/gone`]);
    const run = await runCli(['migrate', '--json'], env(list, { XYN_WAIT_TIMEOUT: '1' }));
    assert.equal(run.code, 3, run.stderr);
    const doc = JSON.parse(run.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => [t.status, t.exit_code]),
      [
        ['applied', 0],
        ['failed', 3],
      ],
    );
    assert.match(doc.targets[1]!.error!.message, /not ready within 1s \(XYN_WAIT_TIMEOUT\)/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes('never-shown-secret'), 'a password in a target URL is never printed');
  });

  it('shards 0/2 and 1/2 cover every target exactly once', async () => {
    const names = tenants.flatMap((t) => [t.name, `${t.name} s1`, `${t.name} s2`]);
    const list = targetsFile(names);
    const seen: string[] = [];
    const byVariable = await runCli(['migrate', '--json'], env(list, { XYN_SHARD: '0/2' }));
    const { XYN_TARGETS_FILE: _file, ...noFile } = env(list);
    const byFlag = await runCli(['migrate', '--json', '--targets-file', list, '--shard', '1/2', '--concurrency', '2'], noFile);
    for (const run of [byVariable, byFlag]) {
      assert.equal(run.code, 0, run.stderr);
      seen.push(...(JSON.parse(run.stdout) as FleetDoc).targets.map((t) => t.target));
    }
    assert.deepEqual([...seen].sort(), [...names].sort());
    const k8s = await runCli(['status', '--json'], env(list, { XYN_SHARDS: '2', JOB_COMPLETION_INDEX: '1' }));
    assert.equal(k8s.code, 0, k8s.stderr);
    const shard1 = await runCli(['status', '--json'], env(list, { XYN_SHARD: '1/2' }));
    const targetsOf = (run: { stdout: string }) => (JSON.parse(run.stdout) as FleetDoc).targets.map((t) => t.target);
    assert.deepEqual(targetsOf(k8s), targetsOf(shard1), 'XYN_SHARDS=2 with JOB_COMPLETION_INDEX=1 is shard 1/2');
  });

  it('canary with shards: the first k of the whole list gate every shard; reported once across shards', async () => {
    const names = tenants.flatMap((t) => [t.name, `${t.name} s1`]);
    const list = targetsFile(names);
    const seen: string[] = [];
    for (const shard of ['0/2', '1/2']) {
      const run = await runCli(['migrate', '--json'], env(list, { XYN_SHARD: shard, XYN_CANARY: '1' }));
      assert.equal(run.code, 0, run.stderr);
      seen.push(...(JSON.parse(run.stdout) as FleetDoc).targets.map((t) => t.target));
    }
    assert.deepEqual([...seen].sort(), [...names].sort());
    await tenants[2]!.query('CREATE SCHEMA canary; CREATE TABLE canary.poison (id int)');
    const poisoned = targetsFile([`${tenants[2]!.name} canary`, ...names]);
    const skipped: string[] = [];
    for (const shard of ['0/2', '1/2']) {
      const run = await runCli(['migrate', '--json'], env(poisoned, { XYN_SHARD: shard, XYN_CANARY: '1' }));
      assert.equal(run.code, 1, `shard ${shard}: ${run.stderr}`);
      const doc = JSON.parse(run.stdout) as FleetDoc;
      assert.deepEqual(doc.targets[0]!.target, `${tenants[2]!.name} canary`, `shard ${shard} names the failed canary`);
      // a shard's share may be empty (six targets, two shards): count the skipped ones across both
      for (const t of doc.targets.slice(1)) if (t.status === 'skipped') skipped.push(t.target);
    }
    assert.deepEqual(skipped.sort(), [...names].sort(), 'every other target skipped, across the shards');
  });

  it('canary: a failure among the first k leaves the rest skipped', async () => {
    await tenants[0]!.query('CREATE TABLE poison (id int)');
    const list = targetsFile(tenants.map((t) => t.name));
    const run = await runCli(['migrate', '--json'], env(list, { XYN_CANARY: '1' }));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => t.status),
      ['failed', 'skipped', 'skipped'],
    );
    assert.deepEqual(await tenants[1]!.query(`SELECT to_regclass('schema_migrations') IS NULL AS untouched`), [{ untouched: true }]);
  });

  it('a targets file with a bad line is exit 2 naming the line, before any connection', async () => {
    const list = targetsFile([tenants[0]!.name, 'two words too many', tenants[0]!.name]);
    const run = await runCli(['migrate'], env(list, { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/nowhere' }));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, new RegExp(`${list.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: it has more than a target and a schema`));
    const duplicate = await runCli(['migrate'], env(targetsFile([tenants[0]!.name, `${tenants[0]!.name}  # again`])));
    assert.equal(duplicate.code, 2);
    assert.match(duplicate.lastMessage, /:2: it repeats the target of .*:1/);
  });

  it('two fleet runs at once over the same targets apply each target once', async () => {
    const list = targetsFile(tenants.flatMap((t) => [t.name, `${t.name} other`]));
    const runs = await Promise.all([runCli(['migrate', '--json'], env(list)), runCli(['migrate', '--json'], env(list))]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    for (const tenant of tenants) {
      assert.deepEqual(await ledgerOf(tenant), ['001_items', '002_second']);
      assert.deepEqual(await ledgerOf(tenant, 'other'), ['001_items', '002_second']);
    }
    const applied = runs.flatMap((r) => (JSON.parse(r.stdout) as FleetDoc).targets.flatMap((t) => t.applied));
    assert.equal(applied.length, 12, 'each file of each target applied by exactly one of the two runs');
  });

  for (const [signal, code, canary] of [
    ['SIGTERM', 143, '0'],
    ['SIGINT', 130, '1'],
  ] as const) {
    it(`${signal} mid-fleet${canary === '0' ? '' : ', during the canary'}: no new target starts, the result is printed with the rest skipped, exit ${code}`, async () => {
      const slow = { ...files, '003_slow.sql': 'SELECT pg_sleep(30);' };
      const list = targetsFile(tenants.map((t) => t.name));
      const { child, result } = startCli(['migrate', '--json'], {
        ...env(list, { XYN_CONCURRENCY: '1', XYN_CANARY: canary }),
        XYN_MIGRATIONS_DIR: migrationsDir(slow),
      });
      await untilLogged(child, 'starting on 3 targets');
      const { waitFor } = await import('../support/postgres.js');
      await waitFor(
        'the slow statement',
        async () =>
          (
            await control.query(
              `SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND datname = $1 AND pid <> pg_backend_pid()`,
              [tenants[0]!.name],
            )
          ).length > 0,
      );
      child.kill(signal);
      const run = await result;
      assert.equal(run.code, code, run.stderr);
      const doc = JSON.parse(run.stdout) as FleetDoc;
      assert.deepEqual(
        doc.targets.map((t) => t.status),
        ['failed', 'skipped', 'skipped'],
      );
      assert.equal(doc.targets[0]!.exit_code, code);
      assert.match(doc.targets[1]!.error!.message, /not started: stopped by a signal/, 'the signal, not a failed canary, is why');
      assert.match(run.lastMessage, new RegExp(`Stopped by ${signal}: no new target started`));
    });
  }
});

describe('fleet: at a terminal', () => {
  it("one live line [done/total] n failed, rate, ETA, cleared before each target's log line; no per-file progress of the targets", async () => {
    const slow = migrationsDir({ ...files, '003_slow.sql': 'SELECT pg_sleep(1.2);' });
    const list = targetsFile([tenants[0]!.name, tenants[1]!.name]);
    // `script` gives the program a pseudo-terminal, as a person's shell would.
    const output = await new Promise<string>((resolve) =>
      execFile(
        'script',
        ['-qec', `${process.execPath} ${CLI} migrate`, '/dev/null'],
        { env: { PATH: process.env.PATH, ...env(list, { XYN_MIGRATIONS_DIR: slow, XYN_LOG_FORMAT: 'pretty' }) } },
        (_e, out) => resolve(out),
      ),
    );
    assert.match(output, /\[2\/2\] 0 failed, [\d.]+\/s, ETA 0s/, output);
    assert.doesNotMatch(output, /003_slow \d+\.\ds/, "a target's per-file progress does not draw over the fleet's line");
    assert.doesNotMatch(output, /ETA \d+s(?!\r\x1b\[2K)[^\n]*: applied/, 'the live line is cleared before a log line is written');
    assert.equal(output.match(/: applied/g)?.length, 2, 'one log line per target');
  });
});

describe('fleet: status and verify', () => {
  it('status --json shows the version skew; verify names what is behind', async () => {
    const [a, b] = tenants as [TestDatabase, TestDatabase];
    const all = targetsFile([a.name, b.name]);
    assert.equal((await runCli(['migrate'], env(targetsFile([a.name])))).code, 0);
    const status = await runCli(['status', '--json'], env(all));
    assert.equal(status.code, 5, status.stderr);
    const doc = JSON.parse(status.stdout) as FleetDoc;
    assert.deepEqual(
      doc.targets.map((t) => [t.status, t.latest]),
      [
        ['up-to-date', '002_second'],
        ['behind', null],
      ],
    );
    assert.deepEqual(doc.skew, { '002_second': 1, '(none)': 1 });
    const verify = await runCli(['verify', '--json'], env(all));
    assert.equal(verify.code, 5);
    assert.match(verify.lastMessage, new RegExp(`${b.name} \\(exit 5: Verification failed: required migrations not applied`));
    assert.deepEqual(
      (JSON.parse(verify.stdout) as FleetDoc).targets.map((t) => [t.status, t.exit_code]),
      [
        ['up-to-date', 0],
        ['failed', 5],
      ],
      "verify's statuses are the contract's",
    );
  });

  it('plan, baseline and rehearse refuse targets (exit 2), touching no database', async () => {
    const list = targetsFile([tenants[0]!.name]);
    for (const args of [['plan'], ['baseline', '001_items'], ['rehearse']]) {
      const run = await runCli(args, env(list));
      assert.equal(run.code, 2, `${args[0]}: ${run.stderr}`);
      assert.match(run.lastMessage, new RegExp(`${args[0]} works on one database, but XYN_TARGETS_FILE names a fleet`));
    }
    for (const db of [control, tenants[0]!])
      assert.deepEqual(await db.query(`SELECT to_regclass('schema_migrations') IS NULL AS untouched`), [{ untouched: true }]);
  });

  it('an XYN_TARGETS_QUERY that fails is exit 2 naming it and the server error; one that returns no rows warns and exits 0', async () => {
    const broken = await runCli(['migrate'], {
      DATABASE_URL: control.url,
      XYN_MIGRATIONS_DIR: migrationsDir(files),
      XYN_TARGETS_QUERY: 'SELECT db AS database FROM no_such_tenants',
    });
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(broken.lastMessage, /XYN_TARGETS_QUERY failed on .*relation "no_such_tenants" does not exist \(SQLSTATE 42P01\)/);
    const empty = await runCli(['migrate'], {
      DATABASE_URL: control.url,
      XYN_MIGRATIONS_DIR: migrationsDir(files),
      XYN_TARGETS_QUERY: 'SELECT NULL AS database WHERE false',
    });
    assert.equal(empty.code, 0, empty.stderr);
    assert.ok(
      empty.logs.some((l) => l.level === 40 && /no targets in XYN_TARGETS_QUERY/.test(String(l.msg))),
      empty.stderr,
    );
  });

  it('XYN_TARGETS_QUERY: targets from SQL on the control database', async () => {
    await control.query('CREATE TABLE tenants (db text, conn text, tenant_schema text)');
    await control.query('INSERT INTO tenants VALUES ($1, NULL, NULL), ($2, NULL, $3), (NULL, $4, NULL)', [
      tenants[0]!.name,
      tenants[1]!.name,
      'acme',
      urlFor(tenants[2]!.name, testServer()),
    ]);
    const run = await runCli(['migrate', '--json'], {
      DATABASE_URL: urlFor(control.name, testServer()),
      XYN_MIGRATIONS_DIR: migrationsDir(files),
      XYN_TARGETS_QUERY: 'SELECT db AS database, conn AS url, tenant_schema AS schema FROM tenants ORDER BY db NULLS LAST',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      (JSON.parse(run.stdout) as FleetDoc).targets.map((t) => t.target),
      [
        ...[tenants[0]!, tenants[1]!]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((t) => (t === tenants[1] ? `${t.name} acme` : t.name)),
        `127.0.0.1:${testServer().port}/${tenants[2]!.name}`,
      ],
      'in the order of the query',
    );
    assert.deepEqual(await ledgerOf(tenants[2]!), ['001_items', '002_second'], 'the url row was migrated');
    assert.ok(!run.stdout.includes(testServer().password) && !run.stderr.includes(testServer().password), 'no password anywhere');
  });
});
