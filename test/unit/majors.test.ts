/**
 * The syntax each supported major added, through the lexer and lint's parser (no server: the
 * integration tests apply the same files on every major), and the refusal of older servers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SUPPORTED_MAJORS, unsupportedServer } from '../../src/db/connect.js';
import { lintMigrations } from '../../src/lint/lint.js';
import { lex } from '../../src/migrations/sql.js';
import { SUPPORTED_MAJORS as TESTED_MAJORS } from '../support/cluster.js';
import { MAJOR_SYNTAX } from '../support/syntax.js';

describe("each supported major's syntax, without a server", () => {
  for (const sample of MAJOR_SYNTAX) {
    it(`PostgreSQL ${sample.since}, ${sample.what}: the lexer finds each statement, lint finds nothing`, async () => {
      const { statements, metaCommands, unterminated } = lex(sample.sql);
      assert.deepEqual(
        statements.map((s) => s.keywords.join(' ')),
        sample.statements,
      );
      assert.deepEqual([metaCommands, unterminated], [[], undefined]);
      const dir = mkdtempSync(join(tmpdir(), 'xyn-majors-'));
      try {
        writeFileSync(join(dir, sample.fileName), sample.sql);
        assert.deepEqual((await lintMigrations(dir, { schema: 'public', table: 'schema_migrations' })).findings, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('there is a sample for every supported major', () => {
    assert.deepEqual(
      MAJOR_SYNTAX.map((s) => s.since),
      [...TESTED_MAJORS],
    );
  });
});

describe('the supported range', () => {
  it('is the range the tests run on', () => {
    assert.deepEqual([SUPPORTED_MAJORS.oldest, SUPPORTED_MAJORS.newest], [TESTED_MAJORS[0], TESTED_MAJORS.at(-1)]);
  });

  it('refuses a server older than the oldest supported major, naming its version; accepts the others and an unknown one', () => {
    assert.equal(
      unsupportedServer('13.23'),
      'PostgreSQL 13.23 is not supported: xyn-migrate supports PostgreSQL 14 to 18, each tested; upgrade the server',
    );
    assert.match(unsupportedServer('9.6.24 (Debian 9.6.24-1.pgdg110+1)') ?? '', /^PostgreSQL 9\.6\.24 is not supported/);
    for (const version of ['14.23', '18.4 (Debian 18.4-1.pgdg13+1)', '19devel', undefined, ''])
      assert.equal(unsupportedServer(version), undefined, version);
  });
});
