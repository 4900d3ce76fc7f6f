/**
 * src/db/ledger.ts: the ledger the runner creates is the one migrations/000_migrations_ledger.sql
 * defines — the same columns, types, nullability, defaults and key — plus the columns the runner
 * added after 000 was released (an applied file is never edited), each named here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ensureLedger } from '../../src/db/ledger.js';
import { openRun } from '../support/engine.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';

/** Columns the runner adds that 000 does not define (nullable, so 000's ledger and an old one stay valid). */
const ADDED_AFTER_000 = ['content_checksum', 'phase'];

const definition = async (db: TestDatabase) => ({
  columns: await db.query(
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'schema_migrations' ORDER BY column_name`,
  ),
  key: await db.query(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = 'schema_migrations'::regclass AND i.indisprimary`,
  ),
});

describe('the ledger', () => {
  let byRunner: TestDatabase;
  let byFile: TestDatabase;
  beforeEach(async () => ([byRunner, byFile] = await Promise.all([freshDatabase('ledger'), freshDatabase('ledger')])));
  afterEach(async () => Promise.all([byRunner.drop(), byFile.drop()]));

  it('the runner creates the table 000_migrations_ledger.sql defines, plus the columns added after it', async () => {
    const run = await openRun(byRunner, {});
    try {
      await ensureLedger(run.session, run.scope.ledger);
    } finally {
      await run.session.close();
    }
    await byFile.query(readFileSync('migrations/000_migrations_ledger.sql', 'utf8'));
    const expected = await definition(byFile);
    assert.equal(expected.columns.length, 5);
    const actual = await definition(byRunner);
    assert.deepEqual(
      actual.columns.filter((c) => !ADDED_AFTER_000.includes(c.column_name as string)),
      expected.columns,
    );
    assert.deepEqual(actual.key, expected.key);
    assert.deepEqual(
      actual.columns
        .filter((c) => ADDED_AFTER_000.includes(c.column_name as string))
        .map((c) => [c.column_name, c.data_type, c.is_nullable]),
      [
        ['content_checksum', 'text', 'YES'],
        ['phase', 'text', 'YES'],
      ],
    );
  });
});
