import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { forEachTarget, type TargetResult } from '../../src/fleet/pool.js';
import { inShard, readTargetsFile, type Target } from '../../src/fleet/targets.js';
import { Stop } from '../../src/stop.js';
import { finishFleet, FleetFailed } from '../../src/fleet/report.js';
import type { CommandContext } from '../../src/commands/context.js';
import { connectionTarget } from '../../src/target.js';

const folder = mkdtempSync(join(tmpdir(), 'xyn-fleet-unit-'));
after(() => rmSync(folder, { recursive: true, force: true }));
const server = connectionTarget('postgres://app:pw@db.internal:5432/control?sslmode=disable', 'DATABASE_URL', {});
const rules = { base: server, tlsDefaults: {}, ledgerSchema: 'public' };
const file = (text: string) => {
  const path = join(folder, `${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(path, text);
  return path;
};

describe('targets file', () => {
  it('reads databases, URLs and schemas; skips blank lines and # comments', () => {
    const targets = readTargetsFile(
      file('# fleet\n\ntenant_a\n  tenant_b   shop  # trailing\npostgres://u:secret@other:6543/t_c\n'),
      rules,
    );
    assert.deepEqual(
      targets.map((t) => [t.name, t.connection.host, t.connection.port, t.connection.database, t.schema]),
      [
        ['tenant_a', 'db.internal', 5432, 'tenant_a', undefined],
        ['tenant_b shop', 'db.internal', 5432, 'tenant_b', 'shop'],
        ['other:6543/t_c', 'other', 6543, 't_c', undefined],
      ],
    );
    assert.equal(targets[0]!.connection.password, 'pw', 'a database name takes its credentials from DATABASE_URL');
    assert.ok(!targets.some((t) => t.name.includes('secret')), 'names never hold a password');
  });

  for (const [what, text, line] of [
    ['three words', 'a\nb c d\n', 2],
    ['a database name with a slash', 'a/b\n', 1],
    ['a schema that is not a name', 'a 1bad\n', 1],
    ['a schema in upper case (it would be a second schema beside the lower-case one)', 'a Tenant_A\n', 1],
    ["a schema of PostgreSQL's own (pg_…)", 'a pg_temp\n', 1],
    ['a duplicate', 'a\nb\na  # again\n', 3],
    ['a duplicate ledger: no schema, and the ledger schema named', 'a\na public\n', 2],
    ['an unparsable URL', 'postgres://u:p@h:notaport/db\n', 1],
  ] as const) {
    it(`${what} is exit 2 naming its line`, () => {
      const path = file(text);
      assert.throws(
        () => readTargetsFile(path, rules),
        (error: unknown) => error instanceof ConfigError && error.message.includes(`${path}:${line}:`),
      );
    });
  }

  it('a database name without DATABASE_URL is exit 2 naming the line', () => {
    assert.throws(() => readTargetsFile(file('tenant_a\n'), { ...rules, base: undefined }), /:1: it names a database, but DATABASE_URL/);
  });

  it("a URL target stands on its own, with the PG* TLS variables as libpq has it, not DATABASE_URL's sslmode", () => {
    const [named, url, own] = readTargetsFile(file('tenant_a\npostgres://u@eu-db/t_b\npostgres://u@eu-db/t_c?sslmode=require\n'), {
      ...rules,
      tlsDefaults: { sslmode: 'verify-full' },
    });
    assert.equal(named!.connection.sslMode, 'disable', "a database name takes DATABASE_URL's parameters");
    assert.equal(url!.connection.sslMode, 'verify-full', 'a URL without sslmode takes PGSSLMODE');
    assert.equal(own!.connection.sslMode, 'require', 'its own sslmode wins');
    const plain = readTargetsFile(file('postgres://u@eu-db/t_b\n'), rules);
    assert.equal(plain[0]!.connection.sslMode, 'prefer', "libpq's default, whatever DATABASE_URL says");
  });

  it('a bad word that may be a URL with a password is not quoted in the message; a plain one is', () => {
    for (const text of [
      'postgresql:/u:hunter2@h/db\n',
      'u:hunter2@h/db\n',
      'tenant_a postgres://u:hunter2@h/db\n',
      'postgres://u:p hunter2@h/db\n',
    ]) {
      assert.throws(
        () => readTargetsFile(file(text), rules),
        (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
        text,
      );
    }
    assert.throws(() => readTargetsFile(file("tenant'a\n"), rules), /has "tenant'a", which is neither/);
  });
});

describe('shards', () => {
  it('n shards cover every target exactly once, and a target always lands in the same shard', () => {
    const targets = Array.from({ length: 1000 }, (_, i) => ({
      name: `t${i}`,
      connection: { ...server, database: `t${i}` },
      schema: i % 3 ? undefined : 's',
      origin: '',
    })) as Target[];
    for (const count of [1, 2, 7]) {
      const shares = Array.from({ length: count }, (_, index) => targets.filter((t) => inShard(t, { index, count })));
      assert.equal(
        shares.reduce((n, s) => n + s.length, 0),
        targets.length,
      );
      assert.equal(new Set(shares.flat()).size, targets.length);
      if (count === 7)
        assert.ok(
          shares.every((s) => s.length > 100),
          'roughly even',
        );
    }
  });
});

describe('the pool', () => {
  const targets = Array.from({ length: 10 }, (_, i) => ({ name: `t${i}`, connection: server, schema: undefined, origin: '' })) as Target[];
  const result = (t: Target, status: TargetResult['status']): TargetResult => ({
    target: t.name,
    schema: null,
    status,
    exit_code: status === 'failed' ? 1 : 0,
    applied: [],
    duration_ms: 0,
    error: null,
  });

  it('never runs more than `concurrency` at once, and keeps the list order in its results', async () => {
    let running = 0;
    let most = 0;
    const results = await forEachTarget(
      targets,
      async (t) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5 + (Number(t.name.slice(1)) % 3) * 5));
        running--;
        return result(t, 'applied');
      },
      { concurrency: 3, canary: 0, stop: new Stop(), onResult: () => undefined },
    );
    assert.equal(most, 3);
    assert.deepEqual(
      results.map((r) => r.target),
      targets.map((t) => t.name),
    );
  });

  it('a failing canary leaves every other target skipped; a passing one lets them run', async () => {
    const failing = await forEachTarget(targets, (t) => Promise.resolve(result(t, t.name === 't1' ? 'failed' : 'applied')), {
      concurrency: 4,
      canary: 2,
      stop: new Stop(),
      onResult: () => undefined,
    });
    assert.deepEqual(
      failing.map((r) => r.status),
      ['applied', 'failed', ...Array(8).fill('skipped')],
    );
    const passing = await forEachTarget(targets, (t) => Promise.resolve(result(t, 'applied')), {
      concurrency: 4,
      canary: 2,
      stop: new Stop(),
      onResult: () => undefined,
    });
    assert.ok(passing.every((r) => r.status === 'applied'));
  });

  it('after a stop no new target starts; the rest are skipped', async () => {
    const stop = new Stop();
    const results = await forEachTarget(
      targets,
      (t) => {
        if (t.name === 't2') stop.trigger('SIGTERM');
        return Promise.resolve(result(t, 'applied'));
      },
      { concurrency: 1, canary: 0, stop, onResult: () => undefined },
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['applied', 'applied', 'applied', ...Array(7).fill('skipped')],
    );
  });
});

describe("the fleet's exit code", () => {
  const quiet = () => undefined;
  const ctx = {
    config: { logFormat: 'json' },
    log: { info: quiet, warn: quiet, error: quiet },
    stop: new Stop(),
    print: quiet,
    stdoutIsTerminal: false,
    progressLine: quiet,
  } as unknown as CommandContext;
  const result = (code: number): TargetResult => ({
    target: `t${code}`,
    schema: null,
    status: code === 0 ? 'applied' : 'failed',
    exit_code: code,
    applied: [],
    duration_ms: 0,
    error: code === 0 ? null : { message: 'x' },
  });

  for (const [codes, expected] of [
    [[3, 1, 4], 1],
    [[3, 4], 4],
    [[1, 5, 4], 5],
    [[5, 2, 3, 1], 2],
    [[0, 3, 0], 3],
  ] as const) {
    it(`targets ending ${codes.join(', ')}: exit ${expected} (urgency 2, 5, 1, 4, 3)`, () => {
      assert.throws(
        () => finishFleet(ctx, 'migrate', codes.map(result), false, 0),
        (error: unknown) => error instanceof FleetFailed && error.exitCode === expected,
      );
    });
  }

  it('every target done: no error', () => {
    finishFleet(ctx, 'migrate', [result(0), result(0)], false, 0);
  });
});
