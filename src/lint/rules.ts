/**
 * The lint rules: what each one guards against and how to fix what it finds. The ids are part of
 * the contract: `--json` output and `-- xyn:lint-ignore <rule-id>` comments name them.
 */

export interface LintRule {
  /** why a finding of this rule matters, one sentence */
  readonly why: string;
  /** how to fix it, one or two sentences */
  readonly fix: string;
  /**
   * false for what `migrate` itself refuses (exit 2) or what fails every time it runs: silencing
   * lint would not make the file apply, so an ignore comment naming such a rule is a finding.
   */
  readonly silenceable: boolean;
}

export const lintRules = {
  naming: {
    why: 'migrate refuses (exit 2) a .sql file not named NNN_name.sql (or NNN_name.up.sql) with three or more digits, a down file (NNN_name.down.sql: migrations apply forward only), and two files with one number.',
    fix: 'Rename it to the next free number and a snake_case name, e.g. 006_add_run_labels.sql (`xyn-migrate new <name>` picks the number); delete a down file or move it to a subfolder, which is not read.',
    silenceable: false,
  },
  'unreadable-file': {
    why: 'migrate refuses (exit 2) a file that is not UTF-8 text, holds a NUL byte or a second byte-order mark, or whose quote, dollar quote or comment is never closed.',
    fix: 'Save the file as UTF-8 (one byte-order mark at most, no NUL) and close the quote or comment named.',
    silenceable: false,
  },
  syntax: {
    why: "PostgreSQL's own parser rejects the statement: it would fail when applied, and lint cannot check it.",
    fix: 'Correct the statement. Should your server accept syntax newer than the parser lint ships (PostgreSQL 18), silence it with -- xyn:lint-ignore-next syntax.',
    silenceable: true,
  },
  'psql-meta-command': {
    why: 'Backslash commands (\\set, \\i, \\connect, \\gset) and the rows after COPY … FROM STDIN are understood by psql only; migrate refuses (exit 2) a file holding one.',
    fix: 'Write it as SQL (SET …, a DO block, INSERT … VALUES) or remove it.',
    silenceable: false,
  },
  'transaction-control': {
    why: 'migrate runs each file in a transaction it owns: a top-level ROLLBACK, a two-phase commit command, or any BEGIN/COMMIT in a -- xyn:no-transaction file cannot be honoured, and migrate refuses (exit 2) the file.',
    fix: 'Remove it: a failing statement already rolls the whole file back (RAISE EXCEPTION in a DO block aborts on purpose); BEGIN/COMMIT may stay in a transactional file.',
    silenceable: false,
  },
  directive: {
    why: 'A -- xyn: comment that has no effect: -- xyn:no-transaction and -- xyn:post-deploy count only as line comments before the first statement, and lint-ignore comments name rule ids.',
    fix: 'Write -- xyn:no-transaction or -- xyn:post-deploy on a line of its own above the first statement; name rules by the ids lint prints.',
    silenceable: false,
  },
  'missing-if-not-exists': {
    why: 'An unguarded CREATE or ADD COLUMN fails where the object already exists: on a database an ORM or a hand fix reached first, and on the second run of rehearse.',
    fix: 'Add IF NOT EXISTS: CREATE TABLE|INDEX|SCHEMA|SEQUENCE|EXTENSION IF NOT EXISTS …, ALTER TABLE … ADD COLUMN IF NOT EXISTS … (an index needs a name for it).',
    silenceable: true,
  },
  'unguarded-constraint': {
    why: 'ADD CONSTRAINT has no IF NOT EXISTS: it fails where the constraint already exists (a database an ORM made, a second run).',
    fix: "Add the constraint inside a DO block that first looks it up: IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'table'::regclass AND conname = 'name') THEN ALTER TABLE … END IF.",
    silenceable: true,
  },
  'concurrently-in-transaction': {
    why: 'CONCURRENTLY cannot run inside a transaction block, and this file runs in one: it fails every time.',
    fix: 'Move the statement to its own file whose first line is -- xyn:no-transaction.',
    silenceable: false,
  },
  'index-without-concurrently': {
    why: 'CREATE INDEX without CONCURRENTLY holds a SHARE lock on a table that already exists for the whole build (and, in a transactional file, until the file commits): every INSERT, UPDATE and DELETE on it waits.',
    fix: 'Build it with CREATE INDEX CONCURRENTLY IF NOT EXISTS in a file of its own whose first line is -- xyn:no-transaction. Only an index on a table created earlier in the same file is exempt.',
    silenceable: true,
  },
  'set-not-null-without-check': {
    why: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no writes) unless a validated CHECK (column IS NOT NULL) already proves it.',
    fix: 'Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it in a later file (that scan does not block writes); then SET NOT NULL skips the scan (PostgreSQL 12+) and the CHECK can be dropped.',
    silenceable: true,
  },
  'volatile-default': {
    why: 'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), serial, identity) or a stored generated column rewrites the whole table under an ACCESS EXCLUSIVE lock; a constant or a stable default such as now() does not.',
    fix: 'Add the column with no default (or a constant one), then ALTER COLUMN … SET DEFAULT for new rows, and backfill existing rows in batches.',
    silenceable: true,
  },
  'column-type-change': {
    why: 'ALTER COLUMN … TYPE takes an ACCESS EXCLUSIVE lock and, unless the old type converts to the new one without a change on disk (varchar(n) → text), rewrites the table and rebuilds its indexes.',
    fix: 'Add a column of the new type, backfill it in batches, switch the application, drop the old column; for a change known to need no rewrite, silence it with -- xyn:lint-ignore-next column-type-change.',
    silenceable: true,
  },
  'constraint-without-not-valid': {
    why: 'ADD CONSTRAINT … CHECK or FOREIGN KEY checks every existing row while it holds its lock: a CHECK holds ACCESS EXCLUSIVE on the table (no reads, no writes), a FOREIGN KEY holds SHARE ROW EXCLUSIVE on both tables (no writes to either) for the whole scan.',
    fix: 'Add it NOT VALID (new rows are checked at once, the lock is brief), then ALTER TABLE … VALIDATE CONSTRAINT in a later file: that scan takes SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.',
    silenceable: true,
  },
  'constraint-builds-index': {
    why: 'ADD PRIMARY KEY, UNIQUE or EXCLUDE builds its index while holding an ACCESS EXCLUSIVE lock on the table: no reads, no writes until the index is built.',
    fix: 'Build the unique index first with CREATE UNIQUE INDEX CONCURRENTLY in a -- xyn:no-transaction file, then attach it in a later file: ALTER TABLE … ADD CONSTRAINT name UNIQUE USING INDEX index (or PRIMARY KEY USING INDEX, once its columns are NOT NULL the safe way: see set-not-null-without-check).',
    silenceable: true,
  },
  'not-null-column-without-default': {
    why: 'ADD COLUMN … NOT NULL without a DEFAULT fails (23502, the column contains null values) on every database where the table has rows: it passes a test on an empty table and breaks the production deploy.',
    fix: 'Give it a constant DEFAULT (PostgreSQL 11+ adds it without a rewrite), or add it nullable, backfill in batches, and make it NOT NULL the safe way (see set-not-null-without-check).',
    silenceable: true,
  },
  'reindex-without-concurrently': {
    why: 'REINDEX without CONCURRENTLY holds a SHARE lock on the table (every INSERT, UPDATE and DELETE waits) and an ACCESS EXCLUSIVE lock on each index (every query that would use it waits) for the whole rebuild.',
    fix: 'Use REINDEX … CONCURRENTLY (PostgreSQL 12+) in a file of its own whose first line is -- xyn:no-transaction.',
    silenceable: true,
  },
  'drop-index-without-concurrently': {
    why: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every running query on the table, and every query that arrives meanwhile waits behind it.",
    fix: 'Use DROP INDEX CONCURRENTLY IF EXISTS, one index per statement, in a file whose first line is -- xyn:no-transaction.',
    silenceable: true,
  },
  'vacuum-full': {
    why: 'VACUUM FULL copies the whole table and rebuilds its indexes under an ACCESS EXCLUSIVE lock: no reads, no writes until it ends.',
    fix: 'Plain VACUUM reclaims space for reuse without blocking reads or writes (it cannot run in a transaction: a -- xyn:no-transaction file); to shrink a live table use pg_repack or pg_squeeze, outside the migration.',
    silenceable: true,
  },
  cluster: {
    why: 'CLUSTER rewrites the whole table in index order under an ACCESS EXCLUSIVE lock: no reads, no writes until it ends.',
    fix: 'Leave physical ordering out of migrations: pg_repack --order-by reorders a live table without the long lock; or run CLUSTER in a maintenance window.',
    silenceable: true,
  },
  'lock-table': {
    why: 'LOCK TABLE in SHARE mode or stronger blocks every write to the table (ACCESS EXCLUSIVE, the default mode, blocks reads too) until the file commits, not only while one statement runs.',
    fix: 'Drop the LOCK: each statement takes the lock it needs. Where statements really need the table held still, keep them alone in a short file and take the weakest mode that serves (IN SHARE MODE lets reads go on).',
    silenceable: true,
  },
  'whole-table-write': {
    why: 'An UPDATE or DELETE of a whole table in one statement (no WHERE, or a backfill that selects rows only by the value it rewrites) locks every row it changes until the file commits: every writer to those rows waits for the whole statement.',
    fix: 'Change the rows in batches of a few thousand, by key range (WHERE id >= … AND id < …), each batch its own transaction: a -- xyn:no-transaction file of batch statements, or a job outside the migration.',
    silenceable: true,
  },
  'breaking-change': {
    why: 'During a rolling update the previous release keeps serving until its last pod stops, against the schema this file leaves: its queries that name a dropped or renamed column fail (42703 undefined_column; a table: 42P01), and a changed column type breaks its prepared statements (0A000 cached plan must not change result type).',
    fix: 'Mark the file -- xyn:post-deploy (above its first statement): it is then applied by --phase post, after the rollout. Or expand/contract: add the new column or table beside the old one, ship a release that uses the new one, drop the old one in a post-deploy file.',
    silenceable: true,
  },
  'foreign-ledger-insert': {
    why: 'A file that records its own id in a table other than the configured ledger (XYN_LEDGER_SCHEMA, XYN_LEDGER_TABLE) fails every time where that table does not exist, and where it does, writes a row migrate never reads.',
    fix: 'Insert into the configured ledger (`xyn-migrate new` writes that line for the configured ledger), or drop the insert: migrate records every file it applies. A table kept in step for another tool on purpose can be silenced with -- xyn:lint-ignore-next foreign-ledger-insert.',
    silenceable: true,
  },
  'validate-in-same-transaction': {
    why: 'NOT VALID keeps the ACCESS EXCLUSIVE lock of ADD CONSTRAINT short; a VALIDATE CONSTRAINT in the same transaction keeps that lock through the whole validating scan, as if NOT VALID had not been written.',
    fix: 'Move VALIDATE CONSTRAINT to a later file: on its own it takes a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.',
    silenceable: true,
  },
} as const satisfies Record<string, LintRule>;

export type RuleId = keyof typeof lintRules;

export const ruleIds = Object.keys(lintRules) as RuleId[];

export function isRuleId(text: string): text is RuleId {
  return Object.hasOwn(lintRules, text);
}
