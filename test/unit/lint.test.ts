import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { migrationTemplate } from '../../src/commands/new.js';
import { LintFindings, type Finding } from '../../src/lint/findings.js';
import { lintMigrations } from '../../src/lint/lint.js';
import { lintJson, lintText } from '../../src/lint/report.js';
import { lintRules, ruleIds, type RuleId } from '../../src/lint/rules.js';
import { migrationPhase } from '../../src/migrations/naming.js';

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir holding `files` (name → text or bytes). */
function folderOf(files: Record<string, string | Buffer>): string {
  const folder = mkdtempSync(join(tmpdir(), 'xyn-lint-'));
  folders.push(folder);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
  return folder;
}

/** The ledger of the default configuration: public.schema_migrations. */
const LEDGER = { schema: 'public', table: 'schema_migrations' };

const lintFiles = async (files: Record<string, string | Buffer>, ledger = LEDGER): Promise<Finding[]> => [
  ...(await lintMigrations(folderOf(files), ledger)).findings,
];

/** Lints one transactional file (after 001, which creates the table `runs`). */
async function lintAfterRuns(sql: string): Promise<Finding[]> {
  const findings = await lintFiles({
    '001_runs.sql': 'CREATE TABLE IF NOT EXISTS runs (id bigint PRIMARY KEY, status text);\n',
    '002_change.sql': sql,
  });
  return findings.filter((f) => f.file === '002_change.sql');
}

const rules = (findings: readonly Finding[]): RuleId[] => findings.map((f) => f.rule);
const where = (f: Finding | undefined) => (f ? `${f.file}:${f.line}:${f.column}` : 'no finding');

describe('lint: naming', () => {
  it('a .sql file not named NNN_name.sql is a naming finding at its first line', async () => {
    const findings = await lintFiles({ '001_ok.sql': 'SELECT 1;\n', '1_short.sql': 'SELECT 1;\n' });
    assert.deepEqual(rules(findings), ['naming']);
    assert.equal(where(findings[0]), '1_short.sql:1:1');
  });

  it('two files with one number are a naming finding on the second, naming the first', async () => {
    const findings = await lintFiles({ '001_a.sql': 'SELECT 1;\n', '0001_b.sql': 'SELECT 2;\n' });
    assert.deepEqual(rules(findings), ['naming']);
    assert.equal(findings[0]?.file, '001_a.sql');
    assert.match(findings[0]?.message ?? '', /0001_b\.sql/);
  });

  it('a down file is a naming finding saying migrations apply forward only, as migrate refuses it', async () => {
    const findings = await lintFiles({ '008_x.up.sql': 'SELECT 1;\n', '008_x.down.sql': 'SELECT 2;\n' });
    assert.deepEqual(rules(findings), ['naming']);
    assert.equal(where(findings[0]), '008_x.down.sql:1:1');
    assert.match(findings[0]?.message ?? '', /forward only/);
  });

  it('two files with one number are found even with a refused file between them', async () => {
    const findings = await lintFiles({ '008_a.sql': 'SELECT 1;\n', '008_b.down.sql': 'SELECT 2;\n', '008_c.sql': 'SELECT 3;\n' });
    assert.deepEqual(
      findings.map((f) => f.file),
      ['008_b.down.sql', '008_c.sql'],
    );
  });

  it('timestamp numbers, mixed case and NNN_name.up.sql: no finding, as migrate takes them', async () => {
    const files = { '20240101120000_AddTags.sql': 'SELECT 1;\n', '20240102090000_x.up.sql': 'SELECT 2;\n' };
    assert.deepEqual(await lintFiles(files), []);
  });

  it('well-named, distinct numbers: no finding', async () => {
    assert.deepEqual(await lintFiles({ '001_a.sql': 'SELECT 1;\n', '002_b.sql': 'SELECT 2;\n', 'README.md': '# not SQL\n' }), []);
  });
});

describe('lint: unreadable files and syntax', () => {
  it('a file that is not UTF-8 is an unreadable-file finding', async () => {
    const findings = await lintFiles({ '001_a.sql': Buffer.from([0x53, 0x45, 0x4c, 0xff, 0x3b]) });
    assert.deepEqual(rules(findings), ['unreadable-file']);
  });

  it('a NUL byte is an unreadable-file finding at its line and column, as migrate refuses it', async () => {
    const findings = await lintFiles({ '001_a.sql': 'SELECT 1;\nSELECT \u00002;\n' });
    assert.ok(rules(findings).includes('unreadable-file'), JSON.stringify(findings));
    assert.equal(where(findings.find((f) => f.rule === 'unreadable-file')), '001_a.sql:2:8');
  });

  it('a file with two byte-order marks is an unreadable-file finding at 1:1, as migrate refuses it', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const findings = await lintFiles({ '001_a.sql': Buffer.concat([bom, bom, Buffer.from('SELECT 1;\n')]) });
    assert.ok(rules(findings).includes('unreadable-file'), JSON.stringify(findings));
    assert.equal(where(findings[0]), '001_a.sql:1:1');
  });

  it('COPY … FROM STDIN is a psql-meta-command finding at the COPY, as migrate refuses it', async () => {
    const findings = await lintFiles({ '001_a.sql': 'SELECT 1;\nCOPY t FROM stdin;\n' });
    assert.deepEqual(rules(findings), ['psql-meta-command']);
    assert.equal(where(findings[0]), '001_a.sql:2:1');
  });

  it('a lone CR ends a -- comment: the statement after it is linted', async () => {
    const findings = await lintFiles({ '001_a.sql': '-- a note\rCREATE TABLE t (x int);\n' });
    assert.deepEqual(rules(findings), ['missing-if-not-exists']);
    assert.equal(where(findings[0]), '001_a.sql:2:14');
  });

  it('a string never closed is an unreadable-file finding where it opens, not a syntax error as well', async () => {
    const findings = await lintFiles({ '001_a.sql': "SELECT 1;\nSELECT 'abc;\n" });
    assert.deepEqual(rules(findings), ['unreadable-file']);
    assert.equal(where(findings[0]), '001_a.sql:2:8');
  });

  it("PostgreSQL's parser rejecting a statement is a syntax finding where the parser stopped", async () => {
    const findings = await lintFiles({ '001_a.sql': '-- é\nSELECT 1;\nCREATE TABL t (id int);\n' });
    assert.deepEqual(rules(findings), ['syntax']);
    assert.equal(where(findings[0]), '001_a.sql:3:8');
    assert.match(findings[0]?.message ?? '', /TABL/);
  });

  it('statements the parser accepts, including a DO block and a BEGIN ATOMIC function: no finding', async () => {
    const sql = `DO $$ BEGIN RAISE NOTICE 'x;y'; END $$;
CREATE OR REPLACE FUNCTION add_one(i int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT i + 1; END;
SELECT add_one(1);\n`;
    assert.deepEqual(await lintFiles({ '001_a.sql': sql }), []);
  });
});

describe('lint: psql meta-commands', () => {
  it('a backslash command is a finding, and the statement after it is still read on its own', async () => {
    const findings = await lintFiles({ '001_a.sql': '\\set ON_ERROR_STOP on\nCREATE TABLE t (id int);\n' });
    assert.deepEqual(rules(findings), ['psql-meta-command', 'missing-if-not-exists']);
    assert.equal(where(findings[0]), '001_a.sql:1:1');
    assert.equal(where(findings[1]), '001_a.sql:2:14');
  });

  it('a backslash inside a string or a comment is no meta-command', async () => {
    assert.deepEqual(await lintFiles({ '001_a.sql': "-- \\i other.sql\nSELECT E'a\\nb', '\\x';\n" }), []);
  });
});

describe('lint: transaction control', () => {
  it("a transactional file's own BEGIN and COMMIT are fine, and so is ROLLBACK TO SAVEPOINT", async () => {
    assert.deepEqual(await lintAfterRuns('BEGIN;\nSAVEPOINT s;\nSELECT 1;\nROLLBACK TO SAVEPOINT s;\nCOMMIT;\nSELECT 2;\n'), []);
  });

  it('a top-level ROLLBACK is a finding at its line', async () => {
    const findings = await lintAfterRuns('BEGIN;\nSELECT 1;\nROLLBACK;\n');
    assert.deepEqual(rules(findings), ['transaction-control']);
    assert.equal(where(findings[0]), '002_change.sql:3:1');
  });

  it('COMMIT PREPARED and PREPARE TRANSACTION are findings', async () => {
    assert.deepEqual(rules(await lintAfterRuns("PREPARE TRANSACTION 'x';\nCOMMIT PREPARED 'x';\n")), [
      'transaction-control',
      'transaction-control',
    ]);
  });

  it('BEGIN in a -- xyn:no-transaction file is a finding', async () => {
    const findings = await lintAfterRuns('-- xyn:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\n');
    assert.deepEqual(rules(findings), ['transaction-control', 'transaction-control']);
  });
});

describe('lint: directives', () => {
  it('-- xyn:no-transaction after the first statement has no effect and is a finding', async () => {
    const findings = await lintAfterRuns(
      'SELECT 1;\n-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS runs_status_idx ON runs (status);\n',
    );
    assert.deepEqual(rules(findings), ['directive', 'concurrently-in-transaction']);
    assert.equal(where(findings[0]), '002_change.sql:2:1');
  });

  it('/* xyn:no-transaction */ has no effect: only the line comment counts', async () => {
    assert.deepEqual(rules(await lintAfterRuns('/* xyn:no-transaction */\nSELECT 1;\n')), ['directive']);
  });

  it('an unknown xyn: directive or rule id is a finding', async () => {
    const findings = await lintAfterRuns('-- xyn:no-transactoin\n-- xyn:lint-ignore no-such-rule\nSELECT 1;\n');
    assert.deepEqual(rules(findings), ['directive', 'directive']);
    assert.match(findings[1]?.message ?? '', /no-such-rule/);
  });

  it('a directive inside a statement is no directive, and ordinary comments are ignored', async () => {
    assert.deepEqual(await lintAfterRuns('-- What: nothing\nSELECT 1 -- xyn:whatever\n;\n'), []);
  });
});

describe('lint: IF NOT EXISTS guards', () => {
  const unguarded = [
    'CREATE TABLE labels (id int);',
    'CREATE INDEX runs_status_idx ON runs (status);',
    'ALTER TABLE runs ADD COLUMN labels jsonb;',
    'CREATE SCHEMA audit;',
    'CREATE SEQUENCE run_numbers;',
    'CREATE EXTENSION pgcrypto;',
  ];
  for (const sql of unguarded) {
    it(`${sql} is a missing-if-not-exists finding`, async () => {
      assert.ok(rules(await lintAfterRuns(`${sql}\n`)).includes('missing-if-not-exists'));
    });
  }

  const guarded = [
    'CREATE TABLE IF NOT EXISTS labels (id int);',
    'CREATE INDEX IF NOT EXISTS labels_id_idx ON labels (id);',
    'ALTER TABLE labels ADD COLUMN IF NOT EXISTS name text;',
    'CREATE SCHEMA IF NOT EXISTS audit;',
    'CREATE SEQUENCE IF NOT EXISTS run_numbers;',
    'CREATE EXTENSION IF NOT EXISTS pgcrypto;',
  ];
  it('the same statements with IF NOT EXISTS: no finding', async () => {
    assert.deepEqual(await lintAfterRuns(guarded.join('\n')), []);
  });

  it('an unnamed index cannot be guarded: a finding that says why', async () => {
    const findings = await lintAfterRuns('CREATE TABLE IF NOT EXISTS labels (id int);\nCREATE INDEX ON labels (id);\n');
    assert.deepEqual(rules(findings), ['missing-if-not-exists']);
    assert.match(findings[0]?.message ?? '', /unnamed/);
  });
});

describe('lint: constraints need a guard', () => {
  it('ADD CONSTRAINT at the top level is an unguarded-constraint finding', async () => {
    assert.deepEqual(rules(await lintAfterRuns("ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status <> '') NOT VALID;\n")), [
      'unguarded-constraint',
    ]);
  });

  const guarded = (add: string) => `DO $migrate$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'runs'::regclass AND conname = 'runs_status_check') THEN
        ${add};
    END IF;
END
$migrate$;\n`;

  it('ADD CONSTRAINT … NOT VALID inside a DO block that checks pg_constraint: no finding', async () => {
    assert.deepEqual(await lintAfterRuns(guarded("ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status <> '') NOT VALID")), []);
  });

  it('the DO block is a guard, not a pass: its statements meet every other rule, at their own line and column', async () => {
    const findings = await lintAfterRuns(guarded("ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status <> '')"));
    assert.deepEqual(rules(findings), ['constraint-without-not-valid']);
    assert.equal(where(findings[0]), '002_change.sql:4:30');
  });

  it('a DO block: statements in loops and nested blocks are read, SQL run by EXECUTE is not, a body PL/pgSQL rejects is skipped', async () => {
    const sql = `DO $$
DECLARE n int;
BEGIN
  FOR n IN 1..3 LOOP
    UPDATE runs SET status = 'x' WHERE id = n;
  END LOOP;
  BEGIN
    UPDATE runs SET status = 'y';
  EXCEPTION WHEN others THEN NULL;
  END;
  EXECUTE 'DROP TABLE runs';
END $$;
DO $$ BEGIN ALTER TABL runs; END $$;
DO LANGUAGE sql $$ SELECT 1 $$;
`;
    const findings = await lintAfterRuns(sql);
    assert.deepEqual(
      findings.map((f) => `${where(f)} ${f.rule}`),
      ['002_change.sql:8:12 whole-table-write'],
    );
  });

  it('a table a DO block creates is new for the rest of the file', async () => {
    const sql = 'DO $$ BEGIN CREATE TABLE labels (id int); END $$;\nCREATE INDEX IF NOT EXISTS labels_id_idx ON labels (id);\n';
    assert.deepEqual(await lintAfterRuns(sql), []);
  });
});

describe('lint: CONCURRENTLY needs -- xyn:no-transaction', () => {
  it('CREATE INDEX CONCURRENTLY in a transactional file is a finding', async () => {
    const findings = await lintAfterRuns('CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_status_idx ON runs (status);\n');
    assert.deepEqual(rules(findings), ['concurrently-in-transaction']);
  });

  it('DROP INDEX CONCURRENTLY in a transactional file is a finding', async () => {
    assert.deepEqual(rules(await lintAfterRuns('DROP INDEX CONCURRENTLY IF EXISTS runs_status_idx;\n')), ['concurrently-in-transaction']);
  });

  it('both in a -- xyn:no-transaction file: no finding', async () => {
    const sql =
      '-- xyn:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS runs_old_idx;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS runs_status_idx ON runs (status);\n';
    assert.deepEqual(await lintAfterRuns(sql), []);
  });
});

describe('lint: an index built without CONCURRENTLY', () => {
  it('on a table an earlier file created (it exists, with data, when this file runs) is a finding', async () => {
    const findings = await lintAfterRuns('CREATE INDEX IF NOT EXISTS runs_status_idx ON runs (status);\n');
    assert.deepEqual(rules(findings), ['index-without-concurrently']);
    assert.equal(where(findings[0]), '002_change.sql:1:1');
  });

  it('on a table no file creates is a finding', async () => {
    assert.deepEqual(rules(await lintAfterRuns('CREATE INDEX IF NOT EXISTS users_email_idx ON public.users (email);\n')), [
      'index-without-concurrently',
    ]);
  });

  it('on a table created earlier in the same file: no finding', async () => {
    const sql =
      'BEGIN;\nCREATE TABLE IF NOT EXISTS labels (id int, run_id bigint);\nCREATE INDEX IF NOT EXISTS labels_run_id_idx ON public.labels (run_id);\nCOMMIT;\n';
    assert.deepEqual(await lintAfterRuns(sql), []);
  });
});

describe('lint: SET NOT NULL', () => {
  it('without a validated CHECK (column IS NOT NULL) before it is a finding', async () => {
    assert.deepEqual(rules(await lintAfterRuns('ALTER TABLE runs ALTER COLUMN status SET NOT NULL;\n')), ['set-not-null-without-check']);
  });

  it('after a CHECK that is still NOT VALID is a finding', async () => {
    const findings = await lintFiles({
      '001_runs.sql': 'CREATE TABLE IF NOT EXISTS runs (id bigint, status text);\n',
      '002_check.sql':
        '-- xyn:lint-ignore unguarded-constraint\nALTER TABLE runs ADD CONSTRAINT runs_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n',
      '003_not_null.sql': 'ALTER TABLE runs ALTER COLUMN status SET NOT NULL;\n',
    });
    assert.deepEqual(rules(findings), ['set-not-null-without-check']);
  });

  it('after a CHECK (column IS NOT NULL) added NOT VALID and validated by earlier files: no finding', async () => {
    const findings = await lintFiles({
      '001_runs.sql': 'CREATE TABLE IF NOT EXISTS runs (id bigint, status text);\n',
      '002_check.sql':
        '-- xyn:lint-ignore unguarded-constraint\nALTER TABLE runs ADD CONSTRAINT runs_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n',
      '003_validate.sql': 'ALTER TABLE runs VALIDATE CONSTRAINT runs_status_not_null;\n',
      '004_not_null.sql': 'ALTER TABLE runs ALTER COLUMN status SET NOT NULL;\n',
    });
    assert.deepEqual(findings, []);
  });

  it('on a table created earlier in the same file: no finding', async () => {
    assert.deepEqual(
      await lintAfterRuns('CREATE TABLE IF NOT EXISTS labels (id int);\nALTER TABLE labels ALTER COLUMN id SET NOT NULL;\n'),
      [],
    );
  });
});

describe('lint: ADD COLUMN with a volatile default', () => {
  for (const type of [
    'uuid DEFAULT gen_random_uuid()',
    'double precision DEFAULT random()',
    "timestamptz DEFAULT pg_catalog.clock_timestamp() + interval '1 day'",
    'bigserial',
    'bigint GENERATED ALWAYS AS IDENTITY',
    'bigint GENERATED ALWAYS AS (id * 2) STORED',
  ]) {
    it(`ADD COLUMN x ${type} on an existing table is a finding`, async () => {
      assert.deepEqual(rules(await lintAfterRuns(`ALTER TABLE runs ADD COLUMN IF NOT EXISTS x ${type};\n`)), ['volatile-default']);
    });
  }

  it("stable or constant defaults (now(), 0, '{}'::jsonb) and a virtual generated column rewrite nothing: no finding", async () => {
    const sql =
      "ALTER TABLE runs ADD COLUMN IF NOT EXISTS run_at timestamptz NOT NULL DEFAULT now(), ADD COLUMN IF NOT EXISTS priority int DEFAULT 0, ADD COLUMN IF NOT EXISTS labels jsonb DEFAULT '{}'::jsonb, ADD COLUMN IF NOT EXISTS twice bigint GENERATED ALWAYS AS (id * 2) VIRTUAL;\n";
    assert.deepEqual(await lintAfterRuns(sql), []);
  });

  it('on a table created earlier in the same file: no finding', async () => {
    assert.deepEqual(
      await lintAfterRuns(
        'CREATE TABLE IF NOT EXISTS labels (id int);\nALTER TABLE labels ADD COLUMN IF NOT EXISTS key uuid DEFAULT gen_random_uuid();\n',
      ),
      [],
    );
  });

  it('points at the volatile function', async () => {
    const findings = await lintAfterRuns('ALTER TABLE runs ADD COLUMN IF NOT EXISTS key uuid DEFAULT gen_random_uuid();\n');
    assert.equal(where(findings[0]), '002_change.sql:1:60');
  });
});

describe('lint: a column type change', () => {
  it('ALTER COLUMN … TYPE on an existing table is a finding, also in a post-deploy file (the rewrite still locks)', async () => {
    assert.deepEqual(rules(await lintAfterRuns('-- xyn:post-deploy\nALTER TABLE runs ALTER COLUMN id TYPE numeric;\n')), [
      'column-type-change',
    ]);
  });

  it('on a table created earlier in the same file: no finding', async () => {
    assert.deepEqual(
      await lintAfterRuns('CREATE TABLE IF NOT EXISTS labels (id int);\nALTER TABLE labels ALTER COLUMN id SET DATA TYPE bigint;\n'),
      [],
    );
  });
});

describe('lint: VALIDATE CONSTRAINT in the transaction that added it NOT VALID', () => {
  const add = "ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status <> '') NOT VALID;";
  const validate = 'ALTER TABLE runs VALIDATE CONSTRAINT runs_status_check;';

  it('in one transactional file is a finding', async () => {
    const findings = await lintAfterRuns(`-- xyn:lint-ignore unguarded-constraint\n${add}\n${validate}\n`);
    assert.deepEqual(rules(findings), ['validate-in-same-transaction']);
    assert.equal(findings[0]?.line, 3);
  });

  it('in a later file: no finding', async () => {
    const findings = await lintFiles({
      '001_runs.sql': 'CREATE TABLE IF NOT EXISTS runs (id bigint, status text);\n',
      '002_add.sql': `-- xyn:lint-ignore unguarded-constraint\n${add}\n`,
      '003_validate.sql': `${validate}\n`,
    });
    assert.deepEqual(findings, []);
  });

  it('in a -- xyn:no-transaction file (each statement commits on its own): no finding', async () => {
    assert.deepEqual(await lintAfterRuns(`-- xyn:no-transaction\n-- xyn:lint-ignore unguarded-constraint\n${add}\n${validate}\n`), []);
  });
});

/**
 * The lock hazards, one per file against tables an earlier file created (so they exist, with
 * rows, when the file runs): the rule each one is, and the safe forms that are no finding.
 */
describe('lint: every lock hazard on an existing table', () => {
  const base = {
    '001_base.sql':
      'CREATE TABLE IF NOT EXISTS orders (id bigint, customer_id bigint, amount int, note text, status text);\nCREATE TABLE IF NOT EXISTS customers (id bigint PRIMARY KEY);\nCREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status);\n',
  };
  const lintAfterBase = async (files: Record<string, string>): Promise<Finding[]> =>
    (await lintFiles({ ...base, ...files })).filter((finding) => finding.file !== '001_base.sql');

  const hazards: readonly (readonly [RuleId, string])[] = [
    ['index-without-concurrently', 'CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);'],
    ['drop-index-without-concurrently', 'DROP INDEX IF EXISTS orders_status_idx;'],
    ['reindex-without-concurrently', 'REINDEX TABLE orders;'],
    ['reindex-without-concurrently', 'REINDEX INDEX orders_status_idx;'],
    [
      'constraint-without-not-valid',
      'ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);',
    ],
    ['constraint-without-not-valid', 'ALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount > 0);'],
    ['constraint-builds-index', 'ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE (note);'],
    ['constraint-builds-index', 'ALTER TABLE orders ADD PRIMARY KEY (id);'],
    ['constraint-builds-index', 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS code text UNIQUE;'],
    ['not-null-column-without-default', 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL;'],
    ['volatile-default', 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();'],
    ['column-type-change', 'ALTER TABLE orders ALTER COLUMN amount TYPE bigint;'],
    ['set-not-null-without-check', 'ALTER TABLE orders ALTER COLUMN status SET NOT NULL;'],
    [
      'validate-in-same-transaction',
      'ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;',
    ],
    ['breaking-change', 'ALTER TABLE orders DROP COLUMN note;'],
    ['breaking-change', 'ALTER TABLE orders RENAME COLUMN note TO remark;'],
    ['breaking-change', 'DROP TABLE IF EXISTS customers;'],
    ['breaking-change', 'ALTER TABLE customers RENAME TO clients;'],
    ['breaking-change', 'ALTER TABLE customers SET SCHEMA archive;'],
    ['vacuum-full', 'VACUUM FULL orders;'],
    ['vacuum-full', 'VACUUM (FULL, ANALYZE) orders;'],
    ['cluster', 'CLUSTER orders USING orders_status_idx;'],
    ['lock-table', 'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;'],
    ['lock-table', 'LOCK orders;'],
    ['lock-table', 'LOCK TABLE orders IN SHARE MODE;'],
    ['whole-table-write', "UPDATE orders SET note = 'b';"],
    ['whole-table-write', "UPDATE orders SET status = 'new' WHERE status IS NULL;"],
    ['whole-table-write', 'DELETE FROM orders;'],
    ['whole-table-write', 'UPDATE orders SET status = NULL WHERE true;'],
  ];
  for (const [rule, sql] of hazards) {
    it(`${sql.split('\n').at(-1)} is a ${rule} finding`, async () => {
      const findings = await lintAfterBase({ '002_change.sql': `${sql}\n` });
      assert.ok(rules(findings).includes(rule), `${rule} not among ${rules(findings).join(', ') || 'no finding'}`);
      const finding = findings.find((f) => f.rule === rule)!;
      assert.equal(finding.why, lintRules[rule].why);
      assert.match(finding.message, /orders|customers/);
    });
  }

  it('points at the table or the constraint, by file:line:column', async () => {
    const findings = await lintAfterBase({
      '002_change.sql': 'SELECT 1;\nALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount > 0);\nLOCK TABLE orders;\n',
    });
    assert.equal(where(findings.find((f) => f.rule === 'constraint-without-not-valid')), '002_change.sql:2:24');
    assert.equal(where(findings.find((f) => f.rule === 'lock-table')), '002_change.sql:3:12');
  });

  const safe: readonly (readonly [string, Record<string, string>])[] = [
    ['ADD COLUMN nullable', { '002_a.sql': 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;\n' }],
    [
      'ADD COLUMN with a constant or stable default, NOT NULL too',
      {
        '002_a.sql':
          "ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL DEFAULT 'eu', ADD COLUMN IF NOT EXISTS at timestamptz DEFAULT now();\n",
      },
    ],
    [
      'a CHECK and a FOREIGN KEY NOT VALID, then VALIDATE CONSTRAINT in a later file',
      {
        '002_a.sql':
          '-- xyn:lint-ignore unguarded-constraint\nALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount > 0) NOT VALID;\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n',
        '003_b.sql':
          'ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_check;\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;\n',
      },
    ],
    [
      'CREATE INDEX, DROP INDEX and REINDEX CONCURRENTLY in a no-transaction file',
      {
        '002_a.sql':
          '-- xyn:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_id_idx ON orders (id);\nDROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;\nREINDEX INDEX CONCURRENTLY orders_id_idx;\n',
      },
    ],
    [
      'a unique index attached with USING INDEX',
      {
        '002_a.sql':
          '-- xyn:lint-ignore unguarded-constraint\nALTER TABLE orders ADD CONSTRAINT orders_id_key UNIQUE USING INDEX orders_id_idx;\n',
      },
    ],
    [
      'SET NOT NULL after a CHECK (status IS NOT NULL) validated in an earlier file',
      {
        '002_a.sql':
          '-- xyn:lint-ignore unguarded-constraint\nALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n',
        '003_b.sql': 'ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n',
        '004_c.sql': 'ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n',
      },
    ],
    [
      'a batched backfill, a targeted UPDATE and DELETE, plain VACUUM, a weak LOCK',
      {
        '002_a.sql':
          "-- xyn:no-transaction\nUPDATE orders SET status = 'new' WHERE id >= 0 AND id < 5000 AND status IS NULL;\nUPDATE orders SET status = 'new' WHERE id IN (SELECT id FROM orders WHERE status IS NULL LIMIT 5000);\nDELETE FROM orders WHERE id = 7;\nVACUUM (ANALYZE) orders;\nLOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE;\n",
      },
    ],
    [
      'drops, renames and a type change in a -- xyn:post-deploy file (the type change still rewrites: silenced here)',
      {
        '002_a.sql':
          '-- xyn:post-deploy\n-- xyn:lint-ignore column-type-change: orders is small\nALTER TABLE orders DROP COLUMN note;\nALTER TABLE orders RENAME COLUMN status TO state;\nALTER TABLE orders ALTER COLUMN amount TYPE bigint;\nDROP TABLE IF EXISTS customers;\n',
      },
    ],
    [
      'everything on a table the same file creates',
      {
        '002_a.sql': `BEGIN;
CREATE TABLE IF NOT EXISTS invoices (id bigint, order_id bigint, total int, note text, status text);
CREATE INDEX IF NOT EXISTS invoices_status_idx ON invoices (status);
-- xyn:lint-ignore-next unguarded-constraint
ALTER TABLE invoices ADD PRIMARY KEY (id), ADD UNIQUE (note), ADD CHECK (total > 0), ADD FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS region text NOT NULL, ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();
ALTER TABLE invoices ALTER COLUMN total TYPE bigint, ALTER COLUMN status SET NOT NULL, DROP COLUMN note;
ALTER TABLE invoices RENAME COLUMN status TO state;
REINDEX TABLE invoices;
REINDEX INDEX invoices_status_idx;
DROP INDEX invoices_status_idx;
CLUSTER invoices;
LOCK TABLE invoices;
UPDATE invoices SET state = 'new';
DELETE FROM invoices;
DROP TABLE invoices;
COMMIT;
`,
      },
    ],
  ];
  for (const [what, files] of safe) {
    it(`no finding: ${what}`, async () => {
      const findings = await lintAfterBase(files);
      assert.deepEqual(
        findings.map((f) => `${where(f)} ${f.rule}`),
        [],
      );
    });
  }

  it('no rule cites a file or document that npm users do not have: a shipped migration, a README', () => {
    const shipped = readdirSync('migrations').map((name) => name.replace(/\.(sql|md)$/, ''));
    for (const rule of ruleIds) {
      const text = `${lintRules[rule].why} ${lintRules[rule].fix}`;
      assert.doesNotMatch(text, /README|\.md\b/, rule);
      for (const name of shipped) assert.ok(!text.includes(name), `${rule} cites ${name}`);
    }
  });
});

describe('lint: constraints are named by kind and by the name PostgreSQL gives them', () => {
  const named: readonly (readonly [string, string])[] = [
    ['ADD PRIMARY KEY (id)', 'ADD CONSTRAINT runs_pkey PRIMARY KEY on runs'],
    ['ADD UNIQUE (id, status)', 'ADD CONSTRAINT runs_id_status_key UNIQUE on runs'],
    ['ADD FOREIGN KEY (parent_id) REFERENCES runs (id) NOT VALID', 'ADD CONSTRAINT runs_parent_id_fkey FOREIGN KEY on runs'],
    ["ADD CHECK (status <> '') NOT VALID", 'ADD CONSTRAINT runs_status_check CHECK on runs'],
    ['ADD CHECK (id > 0 AND status IS NOT NULL) NOT VALID', 'ADD CONSTRAINT runs_check CHECK on runs'],
    ['ADD CONSTRAINT runs_one UNIQUE USING INDEX runs_id_idx', 'ADD CONSTRAINT runs_one UNIQUE on runs'],
    ['ADD UNIQUE USING INDEX runs_id_idx', 'ADD CONSTRAINT runs_id_idx UNIQUE on runs'],
  ];
  for (const [command, message] of named) {
    it(`ALTER TABLE runs ${command}: "${message}"`, async () => {
      const findings = await lintAfterRuns(`ALTER TABLE runs ${command};\n`);
      assert.equal(findings.find((f) => f.rule === 'unguarded-constraint')?.message.split(' outside')[0], message);
    });
  }
});

describe('lint: breaking-change and -- xyn:post-deploy', () => {
  it('a DROP COLUMN before the rollout: the finding says why the running release breaks, and the fix', async () => {
    const findings = await lintAfterRuns('ALTER TABLE runs DROP COLUMN status;\n');
    assert.deepEqual(rules(findings), ['breaking-change']);
    assert.equal(where(findings[0]), '002_change.sql:1:13');
    assert.match(findings[0]!.message, /DROP COLUMN status on runs runs before the rollout/);
    assert.match(findings[0]!.why, /42703/);
    assert.match(findings[0]!.why, /0A000 cached plan must not change result type/);
    assert.match(findings[0]!.fix, /-- xyn:post-deploy/);
    assert.match(findings[0]!.fix, /expand\/contract/);
  });

  it('a type change before the rollout is both a rewrite and a breaking change', async () => {
    assert.deepEqual(rules(await lintAfterRuns('ALTER TABLE runs ALTER COLUMN status TYPE varchar(20);\n')), [
      'column-type-change',
      'breaking-change',
    ]);
  });

  it('-- xyn:post-deploy among the leading comments, with -- xyn:no-transaction too: no finding', async () => {
    const sql =
      '-- Drop what 004 stopped using.\n-- xyn:no-transaction\n-- xyn:post-deploy\nALTER TABLE runs DROP COLUMN IF EXISTS status;\n';
    assert.deepEqual(await lintAfterRuns(sql), []);
  });

  it('-- xyn:post-deploy after the first statement, or as a block comment, has no effect: a directive finding, and the drop is still one', async () => {
    const late = await lintAfterRuns('SELECT 1;\n-- xyn:post-deploy\nDROP TABLE runs;\n');
    assert.deepEqual(rules(late), ['directive', 'breaking-change']);
    assert.match(late[0]!.message, /after the first statement is ignored: this file runs before the rollout/);
    const block = await lintAfterRuns('/* xyn:post-deploy */\nDROP TABLE runs;\n');
    assert.deepEqual(rules(block), ['directive', 'breaking-change']);
  });

  it('a misspelt directive names xyn:post-deploy among the directives', async () => {
    const findings = await lintAfterRuns('-- xyn:post-deplyo\nSELECT 1;\n');
    assert.deepEqual(rules(findings), ['directive']);
    assert.match(findings[0]!.message, /xyn:post-deploy/);
  });

  it('a table dropped in the file that created it is no breaking change; one created by an earlier file is', async () => {
    assert.deepEqual(await lintAfterRuns('CREATE TABLE IF NOT EXISTS scratch (id int);\nDROP TABLE scratch;\n'), []);
    const findings = await lintAfterRuns('DROP TABLE IF EXISTS scratch, public.runs;\n');
    assert.deepEqual(rules(findings), ['breaking-change']);
    assert.match(findings[0]!.message, /^DROP TABLE scratch, runs /);
  });

  it('migrationPhase reads the leading comments only, like -- xyn:no-transaction', () => {
    assert.equal(migrationPhase('-- xyn:post-deploy\nDROP TABLE t;\n'), 'post');
    assert.equal(migrationPhase('  --xyn:post-deploy: after the rollout\nDROP TABLE t;\n'), 'post');
    assert.equal(migrationPhase('DROP TABLE t;\n-- xyn:post-deploy\n'), 'pre');
    assert.equal(migrationPhase("SELECT '\n-- xyn:post-deploy';\n"), 'pre');
    assert.equal(migrationPhase('/* xyn:post-deploy */\nDROP TABLE t;\n'), 'pre');
  });
});

describe('lint: silencing', () => {
  const twoIndexes =
    'CREATE INDEX IF NOT EXISTS runs_status_idx ON runs (status);\nCREATE INDEX IF NOT EXISTS runs_id_status_idx ON runs (id, status);\n';

  it('-- xyn:lint-ignore <rule>: why … silences the rule in the whole file, wherever it stands', async () => {
    assert.deepEqual(await lintAfterRuns(`${twoIndexes}-- xyn:lint-ignore index-without-concurrently: runs is tiny everywhere\n`), []);
  });

  it('-- xyn:lint-ignore-next <rule> silences it for the next statement only', async () => {
    const findings = await lintAfterRuns(`-- xyn:lint-ignore-next index-without-concurrently\n${twoIndexes}`);
    assert.deepEqual(rules(findings), ['index-without-concurrently']);
    assert.equal(findings[0]?.line, 3);
  });

  it('several rules in one comment, separated by commas or spaces', async () => {
    const sql =
      '-- xyn:lint-ignore missing-if-not-exists, index-without-concurrently volatile-default\nCREATE INDEX runs_status_idx ON runs (status);\nALTER TABLE runs ADD COLUMN k uuid DEFAULT gen_random_uuid();\n';
    assert.deepEqual(await lintAfterRuns(sql), []);
  });

  it('a statement the parser rejects can be silenced for that statement (syntax newer than the parser)', async () => {
    const findings = await lintAfterRuns(
      '-- xyn:lint-ignore-next syntax: needs PostgreSQL 19\nALTER TABLE runs FROBNICATE;\nALTER TABLE runs FROBNICATE;\n',
    );
    assert.deepEqual(rules(findings), ['syntax']);
    assert.equal(findings[0]?.line, 3);
  });

  it('a rule that mirrors a refusal of migrate cannot be silenced: the finding stays, and the comment is one too', async () => {
    const findings = await lintAfterRuns('-- xyn:lint-ignore transaction-control\nSELECT 1;\nROLLBACK;\n');
    assert.deepEqual(rules(findings), ['directive', 'transaction-control']);
  });
});

describe('lint: where a finding points', () => {
  it('line and column count characters, also after non-ASCII text on the same line', async () => {
    const findings = await lintAfterRuns("SELECT 'é😀'; ALTER TABLE runs ADD COLUMN k uuid DEFAULT gen_random_uuid();\n");
    assert.equal(where(findings.find((f) => f.rule === 'missing-if-not-exists')), '002_change.sql:1:42');
    assert.equal(where(findings.find((f) => f.rule === 'volatile-default')), '002_change.sql:1:57');
  });
});

describe('lint: the shipped migrations and the template', () => {
  /**
   * Hazards in applied files, which cannot change (a changed checksum is drift): 002 backfills and
   * sets NOT NULL in one step and adds a CHECK validated at once, 003 a FOREIGN KEY validated at
   * once, 005 a UNIQUE that builds its index and a CHECK validated at once, all on tables 001
   * created, inside DO blocks. Known, and reported; this list may only shrink.
   */
  const known = [
    '002_add_scheduling_and_priority.sql:34:16 whole-table-write',
    '002_add_scheduling_and_priority.sql:35:21 set-not-null-without-check',
    '002_add_scheduling_and_priority.sql:39:16 whole-table-write',
    '002_add_scheduling_and_priority.sql:40:21 set-not-null-without-check',
    '002_add_scheduling_and_priority.sql:62:30 constraint-without-not-valid',
    '003_add_run_edges_for_dag.sql:48:30 constraint-without-not-valid',
    '005_steps_run_idx_constraints.sql:42:31 constraint-builds-index',
    '005_steps_run_idx_constraints.sql:49:31 constraint-without-not-valid',
  ];

  it('migrations/ has no finding beyond the known ones', async () => {
    const { findings, files } = await lintMigrations('migrations', LEDGER);
    assert.ok(files >= 6);
    for (const finding of findings)
      assert.ok(known.includes(`${where(finding)} ${finding.rule}`), `unexpected: ${where(finding)} ${finding.rule} ${finding.message}`);
  });

  it('a file written by `new` from the template lints clean, for the default ledger and a configured one', async () => {
    assert.deepEqual(await lintFiles({ '006_add_run_labels.sql': migrationTemplate('006_add_run_labels', LEDGER) }), []);
    const ops = { schema: 'ops', table: 'applied_migrations' };
    assert.deepEqual(await lintFiles({ '006_add_run_labels.sql': migrationTemplate('006_add_run_labels', ops) }, ops), []);
  });

  it("the template's ledger insert: unqualified in public, qualified elsewhere, reserved words quoted", () => {
    const insertOf = (ledger: { schema: string; table: string }) =>
      /^INSERT INTO (\S+) \(id\)/m.exec(migrationTemplate('006_x', ledger))?.[1];
    assert.equal(insertOf(LEDGER), 'schema_migrations');
    assert.equal(insertOf({ schema: 'ops', table: 'applied_migrations' }), 'ops.applied_migrations');
    assert.equal(insertOf({ schema: 'public', table: 'order' }), '"order"');
    assert.equal(insertOf({ schema: 'user', table: 'migrations' }), '"user".migrations');
  });
});

describe('lint: a file records itself in the configured ledger only', () => {
  const ops = { schema: 'ops', table: 'applied_migrations' };
  const selfInsert = (table: string) =>
    `CREATE TABLE IF NOT EXISTS a (id int);\nINSERT INTO ${table} (id) VALUES ('001_a') ON CONFLICT (id) DO NOTHING;\n`;

  it('inserting its own id into schema_migrations under another ledger is a finding at the table name, naming both', async () => {
    const findings = await lintFiles({ '001_a.sql': selfInsert('schema_migrations') }, ops);
    assert.deepEqual(rules(findings), ['foreign-ledger-insert']);
    assert.equal(where(findings[0]), '001_a.sql:2:13');
    assert.match(
      findings[0]!.message,
      /records its id 001_a in schema_migrations, but the ledger is ops\.applied_migrations \(XYN_LEDGER_SCHEMA=ops, XYN_LEDGER_TABLE=applied_migrations\)/,
    );
    assert.equal(lintRules['foreign-ledger-insert'].silenceable, true);
  });

  it('the configured ledger, qualified, quoted or (in public) not, is no finding', async () => {
    assert.deepEqual(await lintFiles({ '001_a.sql': selfInsert('ops.applied_migrations') }, ops), []);
    assert.deepEqual(await lintFiles({ '001_a.sql': selfInsert('"ops"."applied_migrations"') }, ops), []);
    assert.deepEqual(await lintFiles({ '001_a.sql': selfInsert('schema_migrations') }), []);
    assert.deepEqual(await lintFiles({ '001_a.sql': selfInsert('public.schema_migrations') }), []);
  });

  it('the unqualified table name is public, not the ledger schema; a SELECT that inserts the id counts too', async () => {
    assert.deepEqual(rules(await lintFiles({ '001_a.sql': selfInsert('applied_migrations') }, ops)), ['foreign-ledger-insert']);
    const viaSelect = "INSERT INTO old_ledger (id) SELECT '001_a' WHERE true;\n";
    assert.deepEqual(rules(await lintFiles({ '001_a.sql': viaSelect })), ['foreign-ledger-insert']);
  });

  it("an insert of other values (not the file's id) is no finding, and the rule can be silenced", async () => {
    assert.deepEqual(await lintFiles({ '001_a.sql': "INSERT INTO settings (key) VALUES ('002_other');\n" }), []);
    const silenced = `-- xyn:lint-ignore foreign-ledger-insert: dbmate's table, kept in step\n${selfInsert('schema_migrations')}`;
    assert.deepEqual(await lintFiles({ '001_a.sql': silenced }, ops), []);
  });
});

describe('lint: output and exit code', () => {
  it('findings make a LintFindings error: exit 1, a one-sentence summary', async () => {
    const report = await lintMigrations(
      folderOf({ '001_a.sql': 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n', '002_b.sql': 'ROLLBACK;\n' }),
      LEDGER,
    );
    const error = new LintFindings(report);
    assert.equal(error.exitCode, 1);
    assert.equal(error.message, '3 lint findings in 2 files.');
  });

  it('the human text is a table of where, rule and finding, then each rule once with why and fix', async () => {
    const report = await lintMigrations(folderOf({ '001_a.sql': 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n' }), LEDGER);
    const text = lintText(report, false);
    assert.match(text, /^where\s+rule\s+finding\n/);
    assert.match(text, /001_a\.sql:1:14\s+missing-if-not-exists\s+CREATE TABLE a has no IF NOT EXISTS\./);
    assert.equal(text.split(`${'missing-if-not-exists'}: `).length - 1, 1);
    assert.ok(text.includes(lintRules['missing-if-not-exists'].fix));
    assert.ok(text.endsWith('2 lint findings in 1 file.\n'));
    assert.ok(!text.includes('\x1b['), 'no colour off a terminal');
  });

  it('--json is an array of findings with file, line, column, rule, message, why and fix', async () => {
    const report = await lintMigrations(folderOf({ '001_a.sql': 'CREATE TABLE a (id int);\n' }), LEDGER);
    const parsed = JSON.parse(lintJson(report.findings)) as unknown[];
    assert.deepEqual(parsed, [
      {
        file: '001_a.sql',
        line: 1,
        column: 14,
        rule: 'missing-if-not-exists',
        message: 'CREATE TABLE a has no IF NOT EXISTS.',
        why: lintRules['missing-if-not-exists'].why,
        fix: lintRules['missing-if-not-exists'].fix,
      },
    ]);
  });

  it('a clean folder says so in one line', async () => {
    const report = await lintMigrations(folderOf({ '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (id int);\n' }), LEDGER);
    assert.equal(lintText(report, false), 'No lint findings in 1 migration file.\n');
  });
});
