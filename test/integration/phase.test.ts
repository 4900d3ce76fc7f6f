import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { advisoryLocksIn, freshDatabase, ledgerIdsOf, urlFor, testServer, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli, startCli, untilLogged } from '../support/cli.js';
import { proxyTo, reservePort } from '../support/proxy.js';

/** Expand (001, 003), then contract after the rollout (002: the old release still reads `note`). */
const files = {
  '001_orders.sql': 'CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, note text);',
  '002_drop_note.sql': '-- Contract: the old release reads note.\n-- xyn:post-deploy\nALTER TABLE orders DROP COLUMN IF EXISTS note;',
  '003_add_total.sql': 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS total bigint;',
};

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const env = (dir: string, more: Record<string, string> = {}) => ({ DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, ...more });
const columnsOfOrders = async () =>
  (await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`)).map(
    (c) => c.column_name as string,
  );
const ledgerPhases = async () =>
  (await db.query<{ id: string; phase: string | null }>(`SELECT id, phase FROM schema_migrations ORDER BY id`)).map((r) => [r.id, r.phase]);
const ledgerExists = async () => (await db.query(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS e`))[0]!.e as boolean;

interface StatusDoc {
  migrations: { id: string; state: string; phase: string | null }[];
  needs_attention: boolean;
  missing_required: string[];
}

describe('post-deploy files: the pre phase leaves them pending, the post phase applies them', () => {
  it('pre skips the post-deploy file and applies the one numbered after it; post applies it, neither out of order nor a gap', async () => {
    const dir = migrationsDir(files);
    const pre = await runCli([], env(dir, { XYN_REQUIRED_MIGRATIONS: 'all' }));
    assert.equal(pre.code, 0, pre.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '003_add_total']);
    assert.deepEqual(await columnsOfOrders(), ['id', 'note', 'total']);
    assert.ok(pre.logs.some((l) => String(l.msg).includes('--phase post') && String(l.postDeploy) === '002_drop_note'));

    const post = await runCli(['--phase', 'post'], env(dir, { XYN_REQUIRED_MIGRATIONS: 'all' }));
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '002_drop_note', '003_add_total']);
    assert.deepEqual(await columnsOfOrders(), ['id', 'total']);
    assert.deepEqual(await ledgerPhases(), [
      ['001_orders', 'pre'],
      ['002_drop_note', 'post'],
      ['003_add_total', 'pre'],
    ]);
  });

  it('the pre phase checks the post-deploy files it holds back: one the post phase would refuse (COPY FROM STDIN) is exit 2 before anything runs', async () => {
    const dir = migrationsDir({ ...files, '002_drop_note.sql': '-- xyn:post-deploy\nCOPY orders FROM STDIN;' });
    const run = await runCli([], env(dir));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /002_drop_note\.sql:2:1: COPY … FROM STDIN/);
    assert.deepEqual(await columnsOfOrders(), []);
  });

  it('XYN_PHASE=post in the environment is the same as --phase post; a second post run has nothing to do', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir, { XYN_PHASE: 'post' }))).code, 0);
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '002_drop_note', '003_add_total']);
    const again = await runCli([], env(dir, { XYN_PHASE: 'post' }));
    assert.equal(again.code, 0);
    assert.ok(again.logs.some((l) => l.msg === 'nothing to apply'));
  });

  it('status and plan show a deferred file as pending (post-deploy); status needs no attention for it in the pre phase, in the post phase it does', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);

    const human = await runCli(['status'], env(dir));
    assert.equal(human.code, 0, human.stdout);
    assert.match(human.stdout, /002_drop_note\s+pending \(post-deploy\)/);
    const json = await runCli(['status', '--json'], env(dir));
    const doc = JSON.parse(json.stdout) as StatusDoc;
    assert.deepEqual(
      doc.migrations.map((m) => [m.id, m.state, m.phase]),
      [
        ['001_orders', 'applied', 'pre'],
        ['002_drop_note', 'pending', 'post'],
        ['003_add_total', 'applied', 'pre'],
      ],
    );
    assert.equal(doc.needs_attention, false);
    const inPost = await runCli(['status', '--json', '--phase', 'post'], env(dir));
    assert.equal(inPost.code, 5);
    assert.equal((JSON.parse(inPost.stdout) as StatusDoc).needs_attention, true);

    const plan = await runCli(['plan'], env(dir));
    assert.equal(plan.code, 0);
    assert.match(plan.stdout, /^nothing to apply\n\npending \(post-deploy\), left for --phase post/);
    assert.match(plan.stdout, /002_drop_note/);
    const planJson = JSON.parse((await runCli(['plan', '--json'], env(dir))).stdout) as {
      to_apply: unknown[];
      post_deploy_pending: { id: string }[];
    };
    assert.deepEqual(planJson.to_apply, []);
    assert.deepEqual(
      planJson.post_deploy_pending.map((s) => s.id),
      ['002_drop_note'],
    );
    const planPost = JSON.parse((await runCli(['plan', '--json', '--phase', 'post'], env(dir))).stdout) as { to_apply: { id: string }[] };
    assert.deepEqual(
      planPost.to_apply.map((s) => s.id),
      ['002_drop_note'],
    );
  });

  it('verify in the pre phase does not require the post-deploy file (XYN_REQUIRED_MIGRATIONS=all); with --phase post it does', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    const all = { XYN_REQUIRED_MIGRATIONS: 'all' };
    assert.equal((await runCli(['verify'], env(dir, all))).code, 0);
    const inPost = await runCli(['verify', '--phase', 'post'], env(dir, all));
    assert.equal(inPost.code, 5);
    assert.match(inPost.lastMessage, /required migrations not applied: 002_drop_note/);
    assert.equal((await runCli(['--phase', 'post'], env(dir, all))).code, 0);
    assert.equal((await runCli(['verify', '--phase', 'post'], env(dir, all))).code, 0);
  });

  it('a pending pre-deploy file below an applied one is still refused as out of order, in either phase', async () => {
    const dir = migrationsDir({ '001_orders.sql': files['001_orders.sql'], '003_add_total.sql': files['003_add_total.sql'] });
    assert.equal((await runCli([], env(dir))).code, 0);
    writeFileSync(join(dir, '002_late.sql'), 'CREATE TABLE IF NOT EXISTS late (id int);');
    for (const phase of ['pre', 'post']) {
      const run = await runCli(['--phase', phase], env(dir));
      assert.equal(run.code, 5);
      assert.match(run.lastMessage, /002_late\.sql is pending but numbered below/);
    }
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '003_add_total']);
  });

  it('an old ledger (id, applied_at) is adopted: the phase column is added, old rows keep a null phase', async () => {
    await db.query(`CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                    CREATE TABLE orders (id bigint PRIMARY KEY, note text);
                    INSERT INTO schema_migrations (id) VALUES ('001_orders');`);
    assert.equal((await runCli([], env(migrationsDir(files)))).code, 0);
    assert.deepEqual(await ledgerPhases(), [
      ['001_orders', null],
      ['003_add_total', 'pre'],
    ]);
  });
});

describe('await: the app pods wait for the migration Job', () => {
  it('started against an empty database, await waits (creating nothing) until a concurrent migrate has applied every pre-deploy file, then exits 0', async () => {
    const dir = migrationsDir(files);
    const waiting = startCli(['await'], env(dir, { XYN_WAIT_TIMEOUT: '60' }));
    await untilLogged(waiting.child, 'waiting for migrations to be applied');
    assert.equal(await ledgerExists(), false);
    assert.equal(await advisoryLocksIn(db), 0);
    const migrate = await runCli([], env(dir));
    assert.equal(migrate.code, 0, migrate.stderr);
    const awaited = await waiting.result;
    assert.equal(awaited.code, 0, awaited.stderr);
    assert.equal(awaited.lastMessage, 'every pre-deploy migration is applied');
    // the post-deploy file is still pending: the pods do not wait for it
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '003_add_total']);
  });

  it('with nothing applied within XYN_WAIT_TIMEOUT, await exits 5 naming the pre-deploy files missing, and never creates the ledger', async () => {
    const run = await runCli(['await'], env(migrationsDir(files), { XYN_WAIT_TIMEOUT: '0.5' }));
    assert.equal(run.code, 5);
    assert.match(run.lastMessage, /not applied within 0\.5s \(XYN_WAIT_TIMEOUT\): 001_orders, 003_add_total/);
    assert.doesNotMatch(run.lastMessage, /002_drop_note/);
    assert.equal(await ledgerExists(), false);
  });

  it('a connection lost while waiting is reopened: await still sees the migrations land and exits 0', async () => {
    const dir = migrationsDir(files);
    const proxy = await proxyTo(testServer().port);
    await proxy.listen();
    try {
      const url = urlFor(db.name, testServer(), { port: proxy.port });
      const waiting = startCli(['await'], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir, XYN_WAIT_TIMEOUT: '60' });
      await untilLogged(waiting.child, 'waiting for migrations to be applied');
      const reconnecting = untilLogged(waiting.child, 'connection lost while waiting; reconnecting');
      proxy.cutAll();
      await reconnecting;
      assert.equal((await runCli([], env(dir))).code, 0);
      const awaited = await waiting.result;
      assert.equal(awaited.code, 0, awaited.stderr);
      assert.ok(proxy.connections() >= 2, 'it connected again');
    } finally {
      await proxy.close();
    }
  });

  it('with --phase post, await waits for the post-deploy files too', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    const waitingForPost = await runCli(['await', '--phase', 'post'], env(dir, { XYN_WAIT_TIMEOUT: '0.5' }));
    assert.equal(waitingForPost.code, 5);
    assert.match(waitingForPost.lastMessage, /: 002_drop_note \(of /);
    assert.equal((await runCli(['--phase', 'post'], env(dir))).code, 0);
    const done = await runCli(['await', '--phase', 'post'], env(dir, { XYN_WAIT_TIMEOUT: '0.5' }));
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.lastMessage, 'every migration is applied');
  });

  it('a partly applied history names only what is missing', async () => {
    const dir = migrationsDir({ '001_orders.sql': files['001_orders.sql'] });
    assert.equal((await runCli([], env(dir))).code, 0);
    writeFileSync(join(dir, '003_add_total.sql'), files['003_add_total.sql']);
    const run = await runCli(['await'], env(dir, { XYN_WAIT_TIMEOUT: '0.5' }));
    assert.equal(run.code, 5);
    assert.match(run.lastMessage, /: 003_add_total \(of /);
  });

  it('an applied file that changed (drift) is exit 5 at once, naming the file: waiting would not fix it', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    writeFileSync(join(dir, '001_orders.sql'), 'CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, note text, extra int);');
    const run = await runCli(['await'], env(dir, { XYN_WAIT_TIMEOUT: '60' }));
    assert.equal(run.code, 5);
    assert.match(run.lastMessage, /^Not waiting: 001_orders\.sql changed after it was applied/);
    assert.ok(!run.logs.some((l) => l.msg === 'waiting for migrations to be applied'), 'it did not poll');
  });

  it('a database that never answers is exit 3', async () => {
    const port = await reservePort();
    const url = urlFor(db.name, testServer(), { port });
    const run = await runCli(['await'], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: migrationsDir(files), XYN_WAIT_TIMEOUT: '0.5' });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /XYN_WAIT_TIMEOUT/);
  });
});
