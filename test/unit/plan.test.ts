import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MigrationFile } from '../../src/migrations/discover.js';
import { isSteadyState, planMigrations, type EntryKind, type LedgerRow, type PlanOptions } from '../../src/plan.js';
import { migrationNumber } from '../../src/migrations/naming.js';
import { contentChecksum, rawChecksum } from '../../src/migrations/checksum.js';

/** A migration file as discover would return it; the checksum defaults to one derived from the id. */
function file(id: string, checksum = `sum-of-${id}`, phase: MigrationFile['phase'] = 'pre'): MigrationFile {
  const text = `-- ${id}\nSELECT 1;\n`;
  return {
    id,
    number: BigInt(/^(\d+)_/.exec(id)![1]!),
    fileName: `${id}.sql`,
    path: `/migrations/${id}.sql`,
    checksum,
    mode: 'transaction',
    phase,
    text,
    executable: text,
    executableBytes: Buffer.from(text),
    statements: [],
  };
}

/**
 * A ledger row; `checksum: null` is a row adopted from the old shell script's ledger. Its content
 * checksum is one no file has, unless given: `null` is a row written before content checksums.
 */
function row(id: string, checksum: string | null = `sum-of-${id}`, contentChecksum: string | null = `content-of-${id}`): LedgerRow {
  return {
    id,
    appliedAt: new Date('2024-01-01T00:00:00Z'),
    checksum,
    contentChecksum: checksum === null ? null : contentChecksum,
    durationMs: checksum === null ? null : 12,
    appliedBy: checksum === null ? null : 'test',
  };
}

const strict: PlanOptions = { required: { kind: 'list', ids: [] }, allowDrift: false, allowOutOfOrder: false, allowMissingFiles: false };
const options = (overrides: Partial<PlanOptions>): PlanOptions => ({ ...strict, ...overrides });

const kinds = (entries: readonly { id: string; kind: EntryKind }[]) => entries.map((e) => [e.id, e.kind]);
const ids = (files: readonly MigrationFile[]) => files.map((f) => f.id);

describe('planMigrations: entries', () => {
  it('with an empty ledger every file is pending and applied in order', () => {
    const plan = planMigrations([file('001_a'), file('002_b'), file('003_c')], [], strict);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'pending'],
      ['002_b', 'pending'],
      ['003_c', 'pending'],
    ]);
    assert.deepEqual(ids(plan.toApply), ['001_a', '002_b', '003_c']);
    assert.deepEqual(plan.refusals, []);
    assert.deepEqual(plan.warnings, []);
  });

  it('a file whose ledger row has the same checksum is applied, carrying both the file and the row', () => {
    const a = file('001_a');
    const r = row('001_a');
    const plan = planMigrations([a], [r], strict);
    assert.deepEqual(plan.entries, [{ kind: 'applied', id: '001_a', file: a, row: r }]);
    assert.deepEqual(plan.toApply, []);
  });

  it('files numbered above the newest applied one are pending, not out of order', () => {
    const plan = planMigrations([file('001_a'), file('002_b'), file('003_c')], [row('001_a')], strict);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_b', 'pending'],
      ['003_c', 'pending'],
    ]);
    assert.deepEqual(ids(plan.toApply), ['002_b', '003_c']);
  });

  it('a file whose checksum differs from its ledger row is drifted and not applied again', () => {
    const plan = planMigrations([file('001_a', 'new-sum')], [row('001_a', 'old-sum')], strict);
    assert.deepEqual(kinds(plan.entries), [['001_a', 'drifted']]);
    assert.deepEqual(plan.toApply, []);
  });

  it('a ledger row with no file, numbered below the newest file, is missing-file, carrying the row', () => {
    const r = row('002_gone');
    const plan = planMigrations([file('001_a'), file('003_c')], [row('001_a'), r, row('003_c')], options({ allowMissingFiles: true }));
    assert.deepEqual(plan.entries[1], { kind: 'missing-file', id: '002_gone', row: r });
  });

  it('ledger rows numbered above every file are ahead (an older image, a rollback): no refusal, no warning, listed in plan.ahead', () => {
    const plan = planMigrations([file('001_a'), file('002_b')], [row('001_a'), row('002_b'), row('003_newer'), row('004_newest')], strict);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_b', 'applied'],
      ['003_newer', 'ahead'],
      ['004_newest', 'ahead'],
    ]);
    assert.deepEqual(plan.refusals, []);
    assert.deepEqual(plan.warnings, []);
    assert.deepEqual(plan.ahead, ['003_newer', '004_newest']);
    assert.deepEqual(plan.missingRequired, [], 'every file present is applied');
    assert.equal(isSteadyState(plan), true);
  });

  it('of two rows without files, the one below the newest file is refused and the one above it is ahead', () => {
    const plan = planMigrations([file('001_a'), file('003_c')], [row('001_a'), row('002_gone'), row('003_c'), row('009_newer')], strict);
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.id]),
      [['missing-file', '002_gone']],
    );
    assert.deepEqual(plan.ahead, ['009_newer']);
  });

  it('a pending file numbered below an applied migration is out of order', () => {
    const plan = planMigrations([file('001_a'), file('002_b'), file('003_c')], [row('001_a'), row('003_c')], strict);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_b', 'out-of-order'],
      ['003_c', 'applied'],
    ]);
  });

  it('a ledger row without a checksum (adopted from the old ledger) is applied-unverified', () => {
    const plan = planMigrations([file('001_a')], [row('001_a', null)], strict);
    assert.deepEqual(kinds(plan.entries), [['001_a', 'applied-unverified']]);
  });

  it('entries list every file and every row in numeric migration order, missing files in their place', () => {
    const plan = planMigrations(
      [file('001_a'), file('003_c'), file('999_y'), file('1000_x')],
      [row('001_a'), row('002_gone'), row('003_c'), row('1001_gone')],
      options({ allowMissingFiles: true }),
    );
    assert.deepEqual(
      plan.entries.map((e) => e.id),
      ['001_a', '002_gone', '003_c', '999_y', '1000_x', '1001_gone'],
    );
  });
});

describe('planMigrations: refusals and overrides', () => {
  it('drift is refused, its message naming the file and both checksums', () => {
    const plan = planMigrations([file('001_a', 'disk-sum')], [row('001_a', 'ledger-sum')], strict);
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.id]),
      [['drifted', '001_a']],
    );
    assert.match(plan.refusals[0]!.message, /001_a\.sql/);
    assert.match(plan.refusals[0]!.message, /ledger-sum/);
    assert.match(plan.refusals[0]!.message, /disk-sum/);
    assert.deepEqual(plan.warnings, []);
  });

  it('drift with allowDrift is a warning, not a refusal, and the drifted file is still not applied', () => {
    const plan = planMigrations([file('001_a', 'disk-sum'), file('002_b')], [row('001_a', 'ledger-sum')], options({ allowDrift: true }));
    assert.deepEqual(plan.refusals, []);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!.message, /001_a\.sql/);
    assert.deepEqual(ids(plan.toApply), ['002_b']);
  });

  it('an applied id with no file, below the newest file, is refused, naming the id', () => {
    const plan = planMigrations([file('001_a'), file('003_c')], [row('001_a'), row('002_gone'), row('003_c')], strict);
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.id]),
      [['missing-file', '002_gone']],
    );
    assert.match(plan.refusals[0]!.message, /002_gone/);
  });

  it('an applied id with no file is a warning when missing files are allowed', () => {
    const plan = planMigrations(
      [file('001_a'), file('003_c')],
      [row('001_a'), row('002_gone'), row('003_c')],
      options({ allowMissingFiles: true }),
    );
    assert.deepEqual(plan.refusals, []);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!.message, /002_gone/);
  });

  it('an out-of-order file is refused and not applied', () => {
    const plan = planMigrations([file('001_a'), file('002_b'), file('003_c')], [row('001_a'), row('003_c')], strict);
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.id]),
      [['out-of-order', '002_b']],
    );
    assert.match(plan.refusals[0]!.message, /002_b\.sql/);
    assert.deepEqual(plan.toApply, []);
  });

  it('an out-of-order file is applied, in migration order, with a warning when out-of-order is allowed', () => {
    const plan = planMigrations(
      [file('001_a'), file('002_b'), file('003_c'), file('004_d')],
      [row('001_a'), row('003_c')],
      options({ allowOutOfOrder: true }),
    );
    assert.deepEqual(plan.refusals, []);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!.message, /002_b\.sql/);
    assert.deepEqual(ids(plan.toApply), ['002_b', '004_d']);
  });

  it('a pending file numbered below an applied id that has no file is out of order too', () => {
    const plan = planMigrations([file('001_a'), file('002_b')], [row('001_a'), row('005_gone')], options({ allowMissingFiles: true }));
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_b', 'out-of-order'],
      ['005_gone', 'ahead'],
    ]);
  });

  it('every refused kind of history is reported at once, one refusal each, naming its kind and id', () => {
    const plan = planMigrations(
      [file('001_a', 'changed'), file('002_b'), file('003_c'), file('005_e')],
      [row('001_a', 'original'), row('003_c'), row('004_gone'), row('005_e')],
      strict,
    );
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.id]),
      [
        ['drifted', '001_a'],
        ['out-of-order', '002_b'],
        ['missing-file', '004_gone'],
      ],
    );
  });
});

describe('planMigrations: rows adopted without a checksum', () => {
  it('are never drift, whatever the file holds: they are adopted instead', () => {
    const a = file('001_a', 'whatever-is-on-disk');
    const plan = planMigrations([a, file('002_b')], [row('001_a', null)], strict);
    assert.deepEqual(plan.refusals, []);
    assert.deepEqual(plan.warnings, []);
    assert.deepEqual(plan.toAdopt, [a]);
    assert.deepEqual(ids(plan.toApply), ['002_b']);
  });

  it('count as applied for required migrations and for out-of-order', () => {
    const plan = planMigrations(
      [file('001_a'), file('002_b'), file('003_c')],
      [row('001_a', null), row('003_c', null)],
      options({ required: { kind: 'list', ids: ['001_a', '003_c'] } }),
    );
    assert.deepEqual(plan.missingRequired, []);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied-unverified'],
      ['002_b', 'out-of-order'],
      ['003_c', 'applied-unverified'],
    ]);
  });

  it('only rows without a checksum are adopted', () => {
    const plan = planMigrations([file('001_a'), file('002_b')], [row('001_a'), row('002_b', null)], strict);
    assert.deepEqual(ids(plan.toAdopt), ['002_b']);
  });
});

describe('planMigrations: required migrations', () => {
  it('a required id with no ledger row is missing, even when its file is pending', () => {
    const plan = planMigrations(
      [file('001_initial_schema'), file('002_b')],
      [],
      options({ required: { kind: 'list', ids: ['001_initial_schema'] } }),
    );
    assert.deepEqual(plan.missingRequired, ['001_initial_schema']);
  });

  it('a required id that is applied is not missing', () => {
    const plan = planMigrations(
      [file('001_initial_schema')],
      [row('001_initial_schema')],
      options({ required: { kind: 'list', ids: ['001_initial_schema'] } }),
    );
    assert.deepEqual(plan.missingRequired, []);
  });

  it('a required id with neither file nor row is missing', () => {
    const plan = planMigrations([file('001_a')], [row('001_a')], options({ required: { kind: 'list', ids: ['001_a', '007_future'] } }));
    assert.deepEqual(plan.missingRequired, ['007_future']);
  });

  it('required `all` means every file present, and only those', () => {
    const plan = planMigrations(
      [file('001_a'), file('002_b'), file('003_c')],
      [row('001_a'), row('000_old_not_a_file')],
      options({ required: { kind: 'all' }, allowMissingFiles: true }),
    );
    assert.deepEqual(plan.missingRequired, ['002_b', '003_c']);
  });

  it('required `all` with every file applied misses nothing', () => {
    const plan = planMigrations([file('001_a'), file('002_b')], [row('001_a'), row('002_b')], options({ required: { kind: 'all' } }));
    assert.deepEqual(plan.missingRequired, []);
  });

  it('an empty required list requires nothing', () => {
    const plan = planMigrations([file('001_a')], [], strict);
    assert.deepEqual(plan.missingRequired, []);
  });
});

describe('isSteadyState and migrationNumber', () => {
  it('every file applied with its checksum and every requirement met is the steady state', () => {
    const plan = planMigrations([file('001_a'), file('002_b')], [row('001_a'), row('002_b')], options({ required: { kind: 'all' } }));
    assert.equal(isSteadyState(plan), true);
  });

  it('a pending file, a row to adopt, a refusal or a missing requirement is not the steady state', () => {
    assert.equal(isSteadyState(planMigrations([file('001_a')], [], strict)), false);
    assert.equal(isSteadyState(planMigrations([file('001_a')], [row('001_a', null)], strict)), false);
    assert.equal(isSteadyState(planMigrations([file('001_a', 'x')], [row('001_a', 'y')], strict)), false);
    assert.equal(
      isSteadyState(planMigrations([file('001_a')], [row('001_a')], options({ required: { kind: 'list', ids: ['002_b'] } }))),
      false,
    );
  });

  it('a warning alone (allowed drift) is still the steady state', () => {
    const plan = planMigrations([file('001_a', 'x')], [row('001_a', 'y')], options({ allowDrift: true }));
    assert.equal(isSteadyState(plan), true);
  });

  it('migrationNumber reads the numeric prefix exactly, and nothing from an id without one', () => {
    assert.equal(migrationNumber('0042_x'), 42n);
    assert.equal(migrationNumber('20240101000000001_x'), 20240101000000001n);
    assert.equal(migrationNumber('initial'), undefined);
  });
});

describe('planMigrations is pure', () => {
  it('does not change its inputs', () => {
    const files = Object.freeze([file('002_b'), file('001_a')]);
    const rows = Object.freeze([row('003_gone'), row('001_a')]);
    assert.doesNotThrow(() => planMigrations(files, rows, options({ allowMissingFiles: true })));
    assert.deepEqual(ids(files), ['002_b', '001_a']);
    assert.deepEqual(
      rows.map((r) => r.id),
      ['003_gone', '001_a'],
    );
  });
});

/** A file with this exact text, checksummed as discover does. */
function fileWithText(id: string, text: string): MigrationFile {
  return { ...file(id, rawChecksum(Buffer.from(text))), text, executable: text, executableBytes: Buffer.from(text) };
}

describe('planMigrations: whitespace is not drift', () => {
  const applied = 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n';
  const sums = (text: string) => [rawChecksum(Buffer.from(text)), contentChecksum(text)] as const;
  const variants: Record<string, string> = {
    'converted to CRLF': applied.replaceAll('\n', '\r\n'),
    'without its final newline': applied.slice(0, -1),
    'with two final newlines': `${applied}\n`,
    'with trailing spaces and tabs': 'CREATE TABLE a (id int);  \t\nINSERT INTO a VALUES (1); \n',
    'converted to CRLF with trailing spaces': 'CREATE TABLE a (id int);   \r\nINSERT INTO a VALUES (1);\r\n',
  };

  for (const [change, text] of Object.entries(variants)) {
    it(`an applied file ${change} is applied, "whitespace only", when the row holds a content checksum`, () => {
      const [raw, content] = sums(applied);
      const a = fileWithText('001_a', text);
      const plan = planMigrations([a], [row('001_a', raw, content)], strict);
      assert.deepEqual(
        plan.entries.map((e) => [e.kind, e.kind === 'applied' ? e.difference : undefined]),
        [['applied', text === applied ? undefined : 'whitespace only']],
      );
      assert.deepEqual(plan.refusals, []);
      assert.equal(isSteadyState(plan), true);
    });
  }

  for (const change of [
    'converted to CRLF',
    'without its final newline',
    'with trailing spaces and tabs',
    'converted to CRLF with trailing spaces',
  ]) {
    it(`a row of an earlier version (raw checksum only) matches the file ${change}, and its content checksum is to be recorded`, () => {
      const a = fileWithText('001_a', variants[change]!);
      const plan = planMigrations([a], [row('001_a', rawChecksum(Buffer.from(applied)), null)], strict);
      assert.deepEqual(kinds(plan.entries), [['001_a', 'applied']]);
      assert.deepEqual(plan.toAdopt, [a]);
      assert.equal(isSteadyState(plan), false, 'migrate takes the lock once to record the content checksum');
    });
  }

  it('a row of an earlier version whose raw checksum equals the file is applied, its content checksum to be recorded', () => {
    const a = fileWithText('001_a', applied);
    const plan = planMigrations([a], [row('001_a', a.checksum, null)], strict);
    assert.deepEqual(kinds(plan.entries), [['001_a', 'applied']]);
    assert.equal(plan.entries[0]?.kind === 'applied' && plan.entries[0].difference, undefined);
    assert.deepEqual(ids(plan.toAdopt), ['001_a']);
  });

  it('a row of an earlier version whose file had a byte-order mark matches the file saved without it, in CRLF', () => {
    const a = fileWithText('001_a', applied.replaceAll('\n', '\r\n'));
    const plan = planMigrations([a], [row('001_a', rawChecksum(Buffer.from(`\uFEFF${applied}`)), null)], strict);
    assert.deepEqual(kinds(plan.entries), [['001_a', 'applied']]);
  });

  for (const [change, text] of [
    ['a changed statement', applied.replace('(1)', '(2)')],
    ['changed indentation', applied.replace('INSERT', '  INSERT')],
    ['a line break inside a line', applied.replace('VALUES ', 'VALUES\n')],
    ['a blank line added in the middle', applied.replace(';\n', ';\n\n')],
  ] as const) {
    it(`${change} is drift, for a row with a content checksum and for a row of an earlier version`, () => {
      const [raw, content] = sums(applied);
      const a = fileWithText('001_a', text);
      for (const r of [row('001_a', raw, content), row('001_a', raw, null)]) {
        const plan = planMigrations([a], [r], strict);
        assert.deepEqual(kinds(plan.entries), [['001_a', 'drifted']]);
        assert.match(plan.refusals[0]?.message ?? '', /001_a\.sql changed after it was applied/);
      }
    });
  }
});

describe('planMigrations: post-deploy files and the phase', () => {
  const post = (id: string) => file(id, `sum-of-${id}`, 'post');
  const pre = options({ phase: 'pre' });
  const postPhase = options({ phase: 'post' });

  it('the pre phase leaves a pending post-deploy file pending and applies the pre-deploy files numbered after it', () => {
    const plan = planMigrations([file('001_a'), post('002_drop'), file('003_c')], [row('001_a')], pre);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_drop', 'pending'],
      ['003_c', 'pending'],
    ]);
    assert.deepEqual(ids(plan.toApply), ['003_c']);
    assert.deepEqual(ids(plan.deferred), ['002_drop']);
  });

  it('without a phase the planner is in the pre phase (the default of XYN_PHASE)', () => {
    assert.deepEqual(ids(planMigrations([post('001_drop')], [], strict).toApply), []);
  });

  it('the post phase applies everything pending, in number order, and defers nothing', () => {
    const plan = planMigrations([file('001_a'), post('002_drop'), file('003_c'), post('004_drop')], [row('001_a')], postPhase);
    assert.deepEqual(ids(plan.toApply), ['002_drop', '003_c', '004_drop']);
    assert.deepEqual(plan.deferred, []);
  });

  it('a pending post-deploy file below applied pre-deploy files is pending, never out of order, in either phase', () => {
    for (const phase of [pre, postPhase]) {
      const plan = planMigrations([file('001_a'), post('002_drop'), file('003_c')], [row('001_a'), row('003_c')], phase);
      assert.deepEqual(kinds(plan.entries), [
        ['001_a', 'applied'],
        ['002_drop', 'pending'],
        ['003_c', 'applied'],
      ]);
      assert.deepEqual(plan.refusals, []);
    }
    const later = planMigrations([file('001_a'), post('002_drop'), file('003_c')], [row('001_a'), row('003_c')], postPhase);
    assert.deepEqual(ids(later.toApply), ['002_drop']);
  });

  it('a pending pre-deploy file below an applied one is still out of order, with post-deploy files around it', () => {
    const files = [file('001_a'), post('002_drop'), file('003_late'), file('004_d')];
    for (const phase of [pre, postPhase]) {
      const plan = planMigrations(files, [row('001_a'), row('004_d')], phase);
      assert.deepEqual(kinds(plan.entries), [
        ['001_a', 'applied'],
        ['002_drop', 'pending'],
        ['003_late', 'out-of-order'],
        ['004_d', 'applied'],
      ]);
      assert.deepEqual(
        plan.refusals.map((r) => r.id),
        ['003_late'],
      );
    }
  });

  it('a pending post-deploy file below an applied post-deploy file is out of order (the post phase applies in number order)', () => {
    const plan = planMigrations([file('001_a'), post('002_late'), post('003_drop')], [row('001_a'), row('003_drop')], postPhase);
    assert.deepEqual(kinds(plan.entries), [
      ['001_a', 'applied'],
      ['002_late', 'out-of-order'],
      ['003_drop', 'applied'],
    ]);
    assert.deepEqual(
      plan.refusals.map((r) => r.id),
      ['002_late'],
    );
    assert.match(plan.refusals[0]!.message, /below post-deploy migrations already applied/);
    assert.deepEqual(plan.toApply, []);
  });

  it('required `all` in the pre phase does not require post-deploy files; in the post phase it does', () => {
    const files = [file('001_a'), post('002_drop'), file('003_c')];
    const rows = [row('001_a'), row('003_c')];
    assert.deepEqual(planMigrations(files, rows, options({ phase: 'pre', required: { kind: 'all' } })).missingRequired, []);
    assert.deepEqual(planMigrations(files, rows, options({ phase: 'post', required: { kind: 'all' } })).missingRequired, ['002_drop']);
  });

  it('a listed post-deploy file is not required in the pre phase (it cannot be applied there), and is in the post phase', () => {
    const required: PlanOptions['required'] = { kind: 'list', ids: ['001_a', '002_drop'] };
    const files = [file('001_a'), post('002_drop')];
    assert.deepEqual(planMigrations(files, [row('001_a')], options({ phase: 'pre', required })).missingRequired, []);
    assert.deepEqual(planMigrations(files, [row('001_a')], options({ phase: 'post', required })).missingRequired, ['002_drop']);
  });

  it('with every pre-deploy file applied, the pre phase is in the steady state although a post-deploy file is pending', () => {
    const files = [file('001_a'), post('002_drop')];
    assert.ok(isSteadyState(planMigrations(files, [row('001_a')], options({ phase: 'pre', required: { kind: 'all' } }))));
    assert.ok(!isSteadyState(planMigrations(files, [row('001_a')], options({ phase: 'post', required: { kind: 'all' } }))));
  });

  it('a folder without post-deploy files plans the same in both phases', () => {
    const files = [file('001_a'), file('002_b'), file('003_c')];
    const rows = [row('001_a'), row('003_c')];
    const [inPre, inPost] = [pre, postPhase].map((phase) => planMigrations(files, rows, { ...phase, required: { kind: 'all' } }));
    assert.deepEqual(inPre, inPost);
  });
});
