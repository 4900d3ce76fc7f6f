import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrationsDir, runCli } from '../support/cli.js';

// lint needs no database: these run the built program with a migrations folder only.
describe('lint through the built program', () => {
  it('a clean folder is exit 0 with one line on stdout', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (id int);\n' });
    const result = await runCli(['lint'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'No lint findings in 1 migration file.\n');
  });

  it('findings are exit 1: a table on stdout, the one-sentence summary as the last log line', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);\n', '002_b.sql': '\\set x 1\nSELECT 1;\n' });
    const result = await runCli(['lint'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /001_a\.sql:1:14\s+missing-if-not-exists/);
    assert.match(result.stdout, /002_b\.sql:1:1\s+psql-meta-command/);
    assert.equal(result.lastMessage, '2 lint findings in 2 files.');
  });

  it('--json is an array of findings on stdout, whatever the exit code', async () => {
    const dir = migrationsDir({ '001_a.sql': 'ROLLBACK;\n' });
    const result = await runCli(['lint', '--json'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(result.code, 1);
    const findings = JSON.parse(result.stdout) as { file: string; line: number; column: number; rule: string }[];
    assert.deepEqual(
      findings.map((f) => [f.file, f.line, f.column, f.rule]),
      [['001_a.sql', 1, 1, 'transaction-control']],
    );
  });

  it('a drop before the rollout is a breaking-change finding; the same drop in a -- xyn:post-deploy file is none', async () => {
    const dir = migrationsDir({
      '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (id int, note text, old text);\n',
      '002_drop_note.sql': 'ALTER TABLE a DROP COLUMN IF EXISTS note;\n',
      '003_drop_old.sql': '-- xyn:post-deploy\nALTER TABLE a DROP COLUMN IF EXISTS old;\n',
    });
    const result = await runCli(['lint', '--json'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(result.code, 1, result.stderr);
    const findings = JSON.parse(result.stdout) as { file: string; line: number; column: number; rule: string; fix: string }[];
    assert.deepEqual(
      findings.map((f) => [f.file, f.line, f.column, f.rule]),
      [['002_drop_note.sql', 1, 13, 'breaking-change']],
    );
    assert.match(findings[0]!.fix, /-- xyn:post-deploy/);
  });

  it('a folder that cannot be read is exit 2 (configuration), not a finding', async () => {
    const result = await runCli(['lint', '--migrations-dir', '/no/such/folder'], {});
    assert.equal(result.code, 2);
  });
});
