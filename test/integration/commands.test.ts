import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, ledgerIdsOf, testServer, urlFor, type TestDatabase } from '../support/postgres.js';
import { execFile } from 'node:child_process';
import { CLI, migrationsDir, runCli } from '../support/cli.js';

const files = {
  '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY);',
  '002_add_name.sql': 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS name text;',
  '003_index.sql': '-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);',
};

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const env = (dir: string, more: Record<string, string> = {}) => ({ DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, ...more });
const ledgerIds = () => ledgerIdsOf(db);

interface StatusDoc {
  migrations: { id: string; state: string; file_checksum: string | null; ledger_checksum: string | null }[];
  summary: Record<string, number>;
  needs_attention: boolean;
  missing_required: string[];
}

describe('status, plan and verify on a database with no ledger', () => {
  it('status shows every file pending, exits 5, and never creates the ledger', async () => {
    const run = await runCli(['status', '--json'], env(migrationsDir(files)));
    assert.equal(run.code, 5);
    const doc = JSON.parse(run.stdout) as StatusDoc;
    assert.deepEqual(
      doc.migrations.map((m) => [m.id, m.state]),
      [
        ['001_initial_schema', 'pending'],
        ['002_add_name', 'pending'],
        ['003_index', 'pending'],
      ],
    );
    assert.equal(doc.needs_attention, true);
    assert.deepEqual(doc.missing_required, ['001_initial_schema', '002_add_name', '003_index'], 'XYN_REQUIRED_MIGRATIONS defaults to all');
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null);
  });

  it("plan lists what migrate would apply, in order, with each file's mode, and writes nothing", async () => {
    const run = await runCli(['plan', '--json'], env(migrationsDir(files)));
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { to_apply: { id: string; mode: string }[] };
    assert.deepEqual(
      doc.to_apply.map((s) => [s.id, s.mode]),
      [
        ['001_initial_schema', 'transaction'],
        ['002_add_name', 'transaction'],
        ['003_index', 'no-transaction'],
      ],
    );
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null);
  });

  it('verify exits 5 naming the missing required migration', async () => {
    const run = await runCli(['verify'], env(migrationsDir(files)));
    assert.equal(run.code, 5);
    assert.match(run.lastMessage, /required migrations not applied: 001_initial_schema/);
  });
});

describe('after migrate', () => {
  it('status says applied with checksums, exits 0; plan has nothing; verify passes', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir, { XYN_REQUIRED_MIGRATIONS: 'all' }))).code, 0);
    const status = await runCli(['status', '--json'], env(dir));
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as StatusDoc;
    assert.ok(doc.migrations.every((m) => m.state === 'applied' && m.file_checksum === m.ledger_checksum));
    assert.equal(doc.needs_attention, false);
    const human = await runCli(['status'], env(dir));
    assert.match(human.stdout, /002_add_name\s+applied/);
    assert.match(human.stdout, /3 applied/);
    assert.equal((await runCli(['plan'], env(dir))).stdout, 'nothing to apply\n');
    assert.equal((await runCli(['verify'], env(dir, { XYN_REQUIRED_MIGRATIONS: 'all' }))).code, 0);
  });
});

describe('status --json, the stable document', () => {
  it('matches the golden document (volatile values normalised): applied, drifted, pending, missing file', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir, { HOSTNAME: 'golden-pod' }))).code, 0);
    writeFileSync(join(dir, '002_add_name.sql'), 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS name varchar(10);');
    writeFileSync(join(dir, '004_pending.sql'), 'CREATE TABLE IF NOT EXISTS pending (id int);');
    await db.query(
      `INSERT INTO schema_migrations (id, checksum, applied_by) VALUES ('009_from_a_newer_image', repeat('0', 64), 'someone')`,
    );
    const run = await runCli(['status', '--json'], env(dir));
    assert.equal(run.code, 5);
    const normalised = JSON.parse(run.stdout, (key, value: unknown) => {
      if (typeof value !== 'string') return key === 'duration_ms' && typeof value === 'number' ? '<ms>' : value;
      if (/^[0-9a-f]{64}$/.test(value)) return '<sha256>';
      if (/^\d{4}-\d\d-\d\dT/.test(value)) return '<timestamp>';
      if (key === 'migrations_dir') return '<dir>';
      if (key === 'id' && /^[0-9a-f-]{36}$/.test(value)) return '<uuid>';
      return value;
    }) as unknown;
    const golden = JSON.parse(readFileSync('test/golden/status.json', 'utf8')) as unknown;
    assert.deepEqual(normalised, golden);
  });
});

describe('history that migrate refuses before applying anything', () => {
  it('drift: an applied file that changed is exit 5 for migrate and verify, naming the file and both checksums', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    const [before] = await db.query(`SELECT checksum FROM schema_migrations WHERE id = '002_add_name'`);
    writeFileSync(join(dir, '002_add_name.sql'), 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS name varchar(10);');
    writeFileSync(join(dir, '004_more.sql'), 'CREATE TABLE IF NOT EXISTS more (id int);');
    for (const command of ['migrate', 'verify']) {
      const run = await runCli([command], env(dir));
      assert.equal(run.code, 5, `${command}: ${run.stderr}`);
      assert.match(run.lastMessage, /002_add_name\.sql changed after it was applied/);
      assert.ok(run.lastMessage.includes(before!.checksum as string));
    }
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_name', '003_index'], 'nothing applied after the refusal');
    const status = JSON.parse((await runCli(['status', '--json'], env(dir))).stdout) as StatusDoc;
    assert.equal(status.migrations.find((m) => m.id === '002_add_name')?.state, 'drifted');
    const allowed = await runCli([], env(dir, { XYN_ALLOW_DRIFT: 'true' }));
    assert.equal(allowed.code, 0, allowed.stderr);
    const warnings = allowed.logs.filter((l) => l.level === 40 && /002_add_name\.sql changed/.test(String(l.msg)));
    assert.equal(warnings.length, 1, 'warned once, though planned again under the lock');
    assert.ok((await ledgerIds()).includes('004_more'));
  });

  it('missing file: an applied id with no file, numbered below the newest file, is exit 5 unless allowed', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    await db.query(`INSERT INTO schema_migrations (id, checksum) VALUES ('000_removed_from_the_middle', 'x')`);
    writeFileSync(join(dir, '004_next.sql'), 'CREATE TABLE IF NOT EXISTS next (id int);');
    for (const command of ['migrate', 'verify']) {
      const run = await runCli([command], env(dir));
      assert.equal(run.code, 5, `${command}: ${run.stderr}`);
      assert.match(run.lastMessage, /000_removed_from_the_middle is applied but has no file/);
    }
    assert.ok(!(await ledgerIds()).includes('004_next'), 'nothing applied after the refusal');
    assert.equal((await runCli(['--allow-missing-files'], env(dir))).code, 0);
    assert.ok((await ledgerIds()).includes('004_next'));
  });

  it('out of order: a pending file numbered below an applied one is refused; --allow-out-of-order applies it', async () => {
    const dir = migrationsDir({ '001_initial_schema.sql': files['001_initial_schema.sql'], '030_add_name.sql': files['002_add_name.sql'] });
    assert.equal((await runCli([], env(dir))).code, 0);
    writeFileSync(join(dir, '0025_late_branch.sql'), 'CREATE TABLE IF NOT EXISTS late (id int);');
    const refused = await runCli([], env(dir));
    assert.equal(refused.code, 5);
    assert.match(refused.lastMessage, /0025_late_branch\.sql is pending but numbered below/);
    const applied = env(dir, { XYN_REQUIRED_MIGRATIONS: '001_initial_schema' });
    assert.equal((await runCli(['verify'], applied)).code, 0, 'verify judges what is applied and required, not pending files');
    const allowed = await runCli(['--allow-out-of-order'], env(dir));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok((await ledgerIds()).includes('0025_late_branch'));
  });
});

describe('a rollback: the database is ahead of the image', () => {
  it('an older image (fewer files) after a newer one migrated: migrate and verify exit 0 and warn, status shows the ids ahead', async () => {
    const newer = migrationsDir(files);
    assert.equal((await runCli([], env(newer))).code, 0);
    const older = migrationsDir({
      '001_initial_schema.sql': files['001_initial_schema.sql'],
      '002_add_name.sql': files['002_add_name.sql'],
    });
    for (const command of ['migrate', 'verify']) {
      const run = await runCli([command], env(older));
      assert.equal(run.code, 0, `${command}: ${run.stderr}`);
      const warning = run.logs.find((l) => l.level === 40 && /ahead of this image/.test(String(l.msg)));
      assert.ok(warning, `${command} warns that the database is ahead`);
      assert.deepEqual(warning.ahead, ['003_index']);
    }
    const status = await runCli(['status', '--json'], env(older));
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as StatusDoc;
    assert.deepEqual(
      doc.migrations.map((m) => [m.id, m.state]),
      [
        ['001_initial_schema', 'applied'],
        ['002_add_name', 'applied'],
        ['003_index', 'ahead'],
      ],
    );
    assert.equal(doc.needs_attention, false);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_name', '003_index'], 'the ledger is untouched');
    const rollForward = await runCli([], env(newer));
    assert.equal(rollForward.code, 0, 'rolling forward again is the steady state');
  });
});

describe('new and baseline', () => {
  it('new writes the next-numbered file from the template, which then applies and reapplies cleanly', async () => {
    const dir = migrationsDir(files);
    const run = await runCli(['new', 'Add run labels'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const path = join(dir, '004_add_run_labels.sql');
    assert.equal(run.stdout.trim(), path);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /INSERT INTO schema_migrations \(id\) VALUES \('004_add_run_labels'\) ON CONFLICT \(id\) DO NOTHING;/);
    assert.match(text, /^BEGIN;$/m);
    const ledger = 'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());';
    writeFileSync(join(dir, '000_ledger.sql'), ledger);
    assert.equal((await runCli([], env(dir))).code, 0);
    assert.ok((await ledgerIds()).includes('004_add_run_labels'));
    assert.equal((await runCli(['rehearse'], env(dir))).code, 0);
  });

  it('new writes the ledger insert for the configured ledger (schema-qualified, a reserved word quoted); it applies, reapplies and lints clean', async () => {
    const dir = migrationsDir(files);
    const custom = { XYN_LEDGER_SCHEMA: 'ops', XYN_LEDGER_TABLE: 'user' };
    const run = await runCli(['new', 'add run labels'], { XYN_MIGRATIONS_DIR: dir, ...custom });
    assert.equal(run.code, 0, run.stderr);
    const text = readFileSync(join(dir, '004_add_run_labels.sql'), 'utf8');
    assert.match(text, /^INSERT INTO ops\."user" \(id\) VALUES \('004_add_run_labels'\) ON CONFLICT \(id\) DO NOTHING;$/m);
    assert.ok(!text.includes('schema_migrations'));
    const migrate = await runCli([], env(dir, custom));
    assert.equal(migrate.code, 0, migrate.stderr);
    const rows = await db.query(`SELECT id FROM ops."user" ORDER BY id`);
    assert.deepEqual(
      rows.map((r) => r.id),
      ['001_initial_schema', '002_add_name', '003_index', '004_add_run_labels'],
    );
    assert.equal((await db.query(`SELECT to_regclass('public.schema_migrations') AS t`))[0]!.t, null);
    const rehearse = await runCli(['rehearse'], env(dir, custom));
    assert.equal(rehearse.code, 0, rehearse.stderr);
    const lint = await runCli(['lint'], { XYN_MIGRATIONS_DIR: migrationsDir({ '004_add_run_labels.sql': text }), ...custom });
    assert.equal(lint.code, 0, lint.stdout);
  });

  it('new refuses an empty name (exit 2)', async () => {
    const run = await runCli(['new'], { XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 2);
    assert.match(run.lastMessage, /Usage: xyn-migrate new <name>/);
  });

  it('baseline records migrations up to the id without running them; migrate then applies only the rest', async () => {
    const dir = migrationsDir(files);
    await db.query('CREATE TABLE widgets (id bigint PRIMARY KEY, name text)');
    const run = await runCli(['baseline', '002_add_name'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    const rows = await db.query('SELECT id, checksum, applied_by FROM schema_migrations ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      ['001_initial_schema', '002_add_name'],
    );
    assert.ok(rows.every((r) => /baseline/.test(r.applied_by) && /^[0-9a-f]{64}$/.test(r.checksum)));
    const migrate = await runCli([], env(dir));
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_name', '003_index']);
  });

  it('baseline of an unknown id is exit 2 and writes nothing', async () => {
    const run = await runCli(['baseline', '042_nope'], env(migrationsDir(files)));
    assert.equal(run.code, 2);
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null);
  });
});

describe('progress at a terminal', () => {
  it('a migrate that takes over a second shows file n of N live on a terminal, and nothing animated off one', async () => {
    const dir = migrationsDir({ ...files, '004_slow.sql': 'SELECT pg_sleep(1.5);' });
    // `script` gives the program a pseudo-terminal, as a person's shell would.
    const shell = `${process.execPath} ${CLI} migrate`;
    const output = await new Promise<string>((resolve) =>
      execFile(
        'script',
        ['-qec', shell, '/dev/null'],
        { env: { PATH: process.env.PATH, ...env(dir), XYN_LOG_FORMAT: 'pretty' } },
        (_e, out) => resolve(out),
      ),
    );
    assert.match(output, /\[4\/4\] 004_slow \d+\.\ds/);
    assert.match(output, /migrations applied/);
    const other = await freshDatabase();
    try {
      const offTerminal = await runCli([], { DATABASE_URL: other.url, XYN_MIGRATIONS_DIR: dir });
      assert.ok(!/\r|\x1b\[/.test(offTerminal.stderr));
      assert.equal(offTerminal.logs.filter((l) => l.msg === 'applied').length, 4, 'one log line per file');
    } finally {
      await other.drop();
    }
  });
});

describe('the command line', () => {
  it('--help lists every command and --version prints the version', async () => {
    const help = await runCli(['--help'], {});
    assert.equal(help.code, 0);
    for (const command of ['migrate', 'status', 'plan', 'verify', 'new', 'baseline', 'rehearse'])
      assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
    const statusHelp = await runCli(['status', '--help'], {});
    assert.equal(statusHelp.code, 0);
    assert.match(statusHelp.stdout, /^Usage: xyn-migrate status \[--json\]/);
    const version = await runCli(['--version'], {});
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });

  it('an unknown command or flag is exit 2', async () => {
    assert.equal((await runCli(['migrat'], {})).code, 2);
    assert.equal((await runCli(['--no-such-flag'], {})).code, 2);
  });

  it('an unknown flag is our own sentence: the closest flag first, then every flag; no parser jargon', async () => {
    const run = await runCli(['migrate', '--lock-timout', '5'], {});
    assert.equal(run.code, 2);
    assert.match(
      run.lastMessage,
      /^Unknown flag --lock-timout for migrate; did you mean --lock-timeout\? The flags are: --lock-timeout, --ddl-lock-timeout, /,
    );
    for (const flag of ['--migrations-dir', '--allow-drift', '--json', '--help']) assert.ok(run.lastMessage.includes(flag), flag);
    assert.ok(!/positional|'--'/.test(run.stderr), run.stderr);
    const status = await runCli(['status', '--jsn'], {});
    assert.match(status.lastMessage, /^Unknown flag --jsn for status; did you mean --json\?/);
  });

  it('a switch given a value, and a flag missing its value, are clear sentences (exit 2)', async () => {
    const switchValue = await runCli(['--allow-drift=yes'], {});
    assert.equal(switchValue.code, 2);
    assert.equal(switchValue.lastMessage, 'The flag --allow-drift takes no value; write --allow-drift alone (it sets XYN_ALLOW_DRIFT).');
    const missing = await runCli(['verify', '--wait-timeout'], {});
    assert.equal(missing.code, 2);
    assert.match(missing.lastMessage, /^The flag --wait-timeout needs a value, e\.g\. --wait-timeout=<value>/);
    const swallowed = await runCli(['status', '--wait-timeout', '--json'], {});
    assert.match(swallowed.lastMessage, /^The flag --wait-timeout is followed by --json, not by a value/);
  });
});

interface ErrorDoc {
  error: { exit_code: number; message: string; [field: string]: unknown };
}

describe('--json on failure: one JSON document on stdout', () => {
  it('a command line that cannot be read, with --json in it: the error document with exit_code and the sentence', async () => {
    const run = await runCli(['status', '--json', '--lock-timout', '5'], {});
    assert.equal(run.code, 2);
    const doc = JSON.parse(run.stdout) as ErrorDoc;
    assert.equal(doc.error.exit_code, 2);
    assert.equal(doc.error.message, run.lastMessage);
    assert.equal(doc.error.flag, '--lock-timout');
  });

  it('a connect error (wrong password) is exit 3 with the error document, and no password anywhere', async () => {
    const password = 'Wr0ng-json-p@ss:w/rd';
    const run = await runCli(['plan', '--json'], {
      DATABASE_URL: urlFor(db.name, testServer(), { password }),
      XYN_MIGRATIONS_DIR: migrationsDir(files),
    });
    assert.equal(run.code, 3);
    const doc = JSON.parse(run.stdout) as ErrorDoc;
    assert.equal(doc.error.exit_code, 3);
    assert.match(doc.error.message, /authentication failed/);
    for (const form of [password, encodeURIComponent(password)]) assert.ok(!run.stdout.includes(form) && !run.stderr.includes(form));
  });

  it('verify --json exit 5 prints the error document; status --json exit 5 prints only its status document; lint --json only its findings', async () => {
    const verify = await runCli(['verify', '--json'], env(migrationsDir(files)));
    assert.equal(verify.code, 5);
    const doc = JSON.parse(verify.stdout) as ErrorDoc;
    assert.equal(doc.error.exit_code, 5);
    assert.match(doc.error.message, /required migrations not applied: 001_initial_schema/);
    const status = await runCli(['status', '--json'], env(migrationsDir(files)));
    assert.equal(status.code, 5);
    const statusDoc = JSON.parse(status.stdout) as StatusDoc & { error?: unknown };
    assert.equal(statusDoc.needs_attention, true);
    assert.equal(statusDoc.error, undefined);
    const lint = await runCli(['lint', '--json'], { XYN_MIGRATIONS_DIR: migrationsDir({ '001_a.sql': 'ROLLBACK;\n' }) });
    assert.equal(lint.code, 1);
    assert.ok(Array.isArray(JSON.parse(lint.stdout)));
  });

  it('an unencoded / in the password: exit 2 saying to percent-encode, naming DATABASE_URL; the password is in no output, log or termination message', async () => {
    const password = 'Sl4sh-Secr3t';
    const folder = mkdtempSync(join(tmpdir(), 'xyn-termination-'));
    try {
      const terminationLog = join(folder, 'termination-log');
      const url = `postgres://app:${password}/part2@db.example:5432/xyn`;
      const run = await runCli(['status', '--json'], { DATABASE_URL: url, XYN_TERMINATION_LOG: terminationLog });
      assert.equal(run.code, 2);
      const doc = JSON.parse(run.stdout) as ErrorDoc;
      assert.match(
        doc.error.message,
        /DATABASE_URL: has an unencoded reserved character in its user name or password: percent-encode it \(@ as %40, \/ as %2F/,
      );
      const termination = readFileSync(terminationLog, 'utf8');
      assert.equal(termination.trim(), doc.error.message);
      for (const output of [run.stdout, run.stderr, termination]) {
        for (const piece of [password, 'part2']) assert.ok(!output.includes(piece), `${piece} appears in ${output}`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('rehearse on the database of XYN_REHEARSE_URL', () => {
  it('an empty one is used; a second rehearsal there is exit 3 saying it is not empty and what it holds', async () => {
    const dir = migrationsDir(files);
    const first = await runCli(['rehearse'], { XYN_REHEARSE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['rehearse'], { XYN_REHEARSE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(second.code, 3);
    assert.equal(
      second.lastMessage,
      `Rehearsal needs an empty database, and XYN_REHEARSE_URL names 127.0.0.1:${testServer().port}/${db.name}, which is not empty: ` +
        'it holds 2 relations (public.schema_migrations, public.widgets) and the ledger public.schema_migrations with 3 rows; ' +
        'drop and recreate it (a rehearsal leaves what it applied there), or leave XYN_REHEARSE_URL unset to rehearse on a scratch database (needs CREATEDB).',
    );
    assert.ok(!/already in the ledger/.test(second.stderr));
  });

  it('a database holding tables but no ledger is refused too, naming the first few and how many in all', async () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7]) await db.query(`CREATE TABLE t${n} (id int)`);
    const run = await runCli(['rehearse', '--json'], { XYN_REHEARSE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 3);
    assert.match(
      run.lastMessage,
      /it holds 7 relations \(public\.t1, public\.t2, public\.t3, public\.t4, public\.t5, and 2 more\) and no ledger;/,
    );
    const doc = JSON.parse(run.stdout) as ErrorDoc;
    assert.equal(doc.error.relations, 7);
    assert.equal(doc.error.ledger_rows, null);
    assert.deepEqual(await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'widgets'`), [{ n: 0 }], 'nothing applied');
  });
});

describe('plan when migrate would refuse', () => {
  it('says what migrate would refuse, never "nothing to apply" (exit 5)', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    await db.query(`INSERT INTO schema_migrations (id, checksum) VALUES ('002a_removed', 'x')`);
    const run = await runCli(['plan'], env(dir));
    assert.equal(run.code, 5);
    assert.ok(!run.stdout.includes('nothing to apply'), run.stdout);
    assert.match(run.stdout, /^migrate would refuse and apply nothing:\n  .*002a_removed is applied but has no file/);
  });
});
