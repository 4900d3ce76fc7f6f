/**
 * The contenders: xyn-migrate, the peers installed from npm, and the baselines. Each one is a
 * whole-process command line, built for one database and one layout directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import type { Command } from './measure.js';
import type { BenchServer } from './postgres.js';
import type { LayoutKind } from './workload.js';

export type Scenario = 'apply' | 'steady' | 'concurrent';

export interface ToolContext {
  readonly server: BenchServer;
  /** the database to run against */
  readonly database: string;
  /** the layout directory of the current workload for this tool's layout */
  readonly dir: string;
  /** the repository root */
  readonly root: string;
}

export interface Tool {
  /** short stable key, used in database names */
  readonly key: string;
  /** what the tables show */
  readonly label: string;
  /** compare: another build of xyn-migrate (BENCH_XYN_COMPARE), left out of the target checks */
  readonly role: 'subject' | 'peer' | 'baseline' | 'compare';
  /** what the process is: a Node program, a Go binary (possibly behind a Node wrapper), a C program */
  readonly runtime: 'node' | 'go' | 'c';
  readonly scenarios: readonly Scenario[];
  /**
   * The layout it reads. For steady/concurrent runs a tool without `applies` uses the database
   * that the tool named by `databaseOf` migrated.
   */
  readonly layout: LayoutKind | undefined;
  /** key of the tool whose migrated database this one reads in steady/concurrent (default: itself) */
  readonly databaseOf?: string;
  /** counts the rows of this tool's ledger (for the check after apply) */
  readonly ledgerCountSql?: string;
  /** how the command line looks, for the report */
  readonly describe: string;
  /** runs only on workloads with at least this many files (default 1) */
  readonly minFiles?: number;
  command(ctx: ToolContext): Command;
}

const require = createRequire(import.meta.url);

/** A minimal environment: nothing from the caller's PG*, DATABASE_URL, NODE_OPTIONS or npm_* leaks in. */
export function baseEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
  };
  return { ...env, ...extra };
}

export function libpqEnv(ctx: Pick<ToolContext, 'server' | 'database'>): NodeJS.ProcessEnv {
  return baseEnv({
    PGHOST: ctx.server.host,
    PGPORT: String(ctx.server.port),
    PGUSER: ctx.server.user,
    PGPASSWORD: ctx.server.password,
    PGDATABASE: ctx.database,
    // No TLS or GSSAPI negotiation round trip: the server offers neither; same for every client.
    PGSSLMODE: 'disable',
    PGGSSENCMODE: 'disable',
  });
}

/** xyn-migrate's environment in every scenario: all files required, warnings only, no termination log. */
export function xynEnv(databaseUrl: string, migrationsDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return baseEnv({
    DATABASE_URL: databaseUrl,
    XYN_MIGRATIONS_DIR: migrationsDir,
    XYN_REQUIRED_MIGRATIONS: 'all',
    LOG_LEVEL: 'warn',
    XYN_TERMINATION_LOG: '/dev/null',
    ...extra,
  });
}

export function findPsql(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'psql');
    if (dir && existsSync(candidate)) return candidate;
  }
  return existsSync('/usr/bin/psql') ? '/usr/bin/psql' : undefined;
}

export function psqlVersion(psql: string): string {
  return spawnSync(psql, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

function dbmateBinary(): string {
  return require.resolve(`@dbmate/${process.platform}-${process.arch}/bin/dbmate`);
}

/** The file a package's `bin` entry points at (package exports may hide it from require.resolve). */
function binOf(name: string, bin: string): string {
  const manifest = require.resolve(`${name}/package.json`);
  const field = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> }).bin;
  const relative = typeof field === 'string' ? field : field?.[bin];
  if (!relative) throw new Error(`${name} has no bin ${bin}`);
  return join(dirname(manifest), relative);
}

function packageVersion(name: string): string {
  try {
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function toolVersions(root: string): Record<string, string> {
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    'xyn-migrate': own.version,
    'node-pg-migrate': packageVersion('node-pg-migrate'),
    'postgrator-cli': packageVersion('postgrator-cli'),
    postgrator: packageVersion('postgrator'),
    dbmate: packageVersion('dbmate'),
    pg: packageVersion('pg'),
  };
}

/**
 * @param xynCli the build of xyn-migrate to run: a snapshot of dist/cli.js taken when the bench
 *   starts, so that a rebuild while the bench runs cannot mix two versions in one table
 */
export function allTools(root: string, xynCli: string, psql: string | undefined, compareCli?: string): Tool[] {
  const node = process.execPath;
  const xynCommand =
    (cli: string) =>
    (ctx: ToolContext): Command => ({
      file: node,
      args: [cli, 'migrate'],
      env: xynEnv(ctx.server.url(ctx.database), ctx.dir),
      cwd: ctx.dir,
    });
  const npmBin = binOf('node-pg-migrate', 'node-pg-migrate');
  const postgratorBin = binOf('postgrator-cli', 'postgrator');
  const dbmateJsBin = binOf('dbmate', 'dbmate');
  const dbmateBin = dbmateBinary();
  const nodePgMigrate =
    (perFile: boolean) =>
    (ctx: ToolContext): Command => ({
      file: node,
      args: [
        npmBin,
        'up',
        '--migrations-dir',
        ctx.dir,
        '--no-verbose',
        '--advisory-lock-mode',
        'wait',
        ...(perFile ? ['--no-single-transaction'] : []),
      ],
      env: baseEnv({ DATABASE_URL: ctx.server.url(ctx.database) }),
      cwd: ctx.dir,
    });
  const dbmateArgs = (ctx: ToolContext): string[] => [
    '--url',
    ctx.server.url(ctx.database, { sslmode: 'disable' }),
    '--migrations-dir',
    ctx.dir,
    '--no-dump-schema',
    'migrate',
  ];

  const tools: Tool[] = [
    {
      key: 'xyn',
      runtime: 'node',
      label: 'xyn-migrate',
      role: 'subject',
      scenarios: ['apply', 'steady', 'concurrent'],
      layout: 'xyn',
      ledgerCountSql: 'SELECT count(*)::int AS n FROM schema_migrations',
      describe: 'node dist/cli.js migrate (a copy taken at the start of the bench; XYN_REQUIRED_MIGRATIONS=all, LOG_LEVEL=warn)',
      command: xynCommand(xynCli),
    },
    ...(compareCli
      ? [
          {
            key: 'xyncmp',
            label: 'xyn-migrate, compare build',
            role: 'compare' as const,
            runtime: 'node' as const,
            scenarios: ['apply', 'steady', 'concurrent'] as const,
            layout: 'xyn' as const,
            ledgerCountSql: 'SELECT count(*)::int AS n FROM schema_migrations',
            describe: `another build of xyn-migrate (BENCH_XYN_COMPARE=${compareCli}), same settings`,
            command: xynCommand(compareCli),
          },
        ]
      : []),
    {
      key: 'npm',
      runtime: 'node',
      label: 'node-pg-migrate',
      role: 'peer',
      scenarios: ['apply', 'steady', 'concurrent'],
      layout: 'node-pg-migrate',
      ledgerCountSql: 'SELECT count(*)::int AS n FROM pgmigrations',
      describe: 'node-pg-migrate up --no-verbose --advisory-lock-mode wait (its default: ALL pending files in ONE transaction)',
      command: nodePgMigrate(false),
    },
    {
      key: 'npmtx',
      runtime: 'node',
      label: 'node-pg-migrate, tx per file',
      role: 'peer',
      scenarios: ['apply'],
      layout: 'node-pg-migrate',
      ledgerCountSql: 'SELECT count(*)::int AS n FROM pgmigrations',
      describe:
        'the same with --no-single-transaction: BEGIN, file, ledger INSERT, COMMIT per file (4 round trips); only where there is more than one file',
      minFiles: 2,
      command: nodePgMigrate(true),
    },
    {
      key: 'pgtor',
      runtime: 'node',
      label: 'postgrator-cli',
      role: 'peer',
      scenarios: ['apply', 'steady', 'concurrent'],
      layout: 'postgrator',
      ledgerCountSql: 'SELECT count(*)::int AS n FROM schemaversion WHERE version > 0',
      describe:
        'postgrator --no-config migrate (file and ledger row in separate implicit transactions; no lock; md5 of every applied file checked, one query each)',
      command: (ctx) => ({
        file: node,
        args: [
          postgratorBin,
          'migrate',
          '--no-config',
          '--driver',
          'pg',
          '--host',
          ctx.server.host,
          '--port',
          String(ctx.server.port),
          '--database',
          ctx.database,
          '--username',
          ctx.server.user,
          '--migration-pattern',
          `${ctx.dir}/*.sql`,
        ],
        env: baseEnv({ PGPASSWORD: ctx.server.password }),
        cwd: ctx.dir,
      }),
    },
    {
      key: 'dbmate',
      runtime: 'go',
      label: 'dbmate (Go binary)',
      role: 'peer',
      scenarios: ['apply', 'steady', 'concurrent'],
      layout: 'dbmate',
      ledgerCountSql: 'SELECT count(*)::int AS n FROM schema_migrations',
      describe: 'node_modules/@dbmate/<platform>/bin/dbmate --no-dump-schema migrate (one transaction per file; advisory lock)',
      command: (ctx) => ({ file: dbmateBin, args: dbmateArgs(ctx), env: baseEnv({}), cwd: ctx.dir }),
    },
    {
      key: 'dbmatejs',
      runtime: 'go',
      label: 'dbmate via npm bin (node wrapper)',
      role: 'peer',
      scenarios: ['steady'],
      layout: 'dbmate',
      databaseOf: 'dbmate',
      describe: 'node node_modules/dbmate/dist/cli.js … (what `npx dbmate` runs: a Node wrapper that spawns the Go binary)',
      command: (ctx) => ({ file: node, args: [dbmateJsBin, ...dbmateArgs(ctx)], env: baseEnv({}), cwd: ctx.dir }),
    },
  ];

  if (psql) {
    tools.push(
      {
        key: 'psqlsess',
        runtime: 'c',
        label: 'psql, one session, tx per file',
        role: 'baseline',
        scenarios: ['apply'],
        layout: 'psql-session',
        ledgerCountSql: 'SELECT count(*)::int AS n FROM schema_migrations',
        describe: 'psql -X -q -f run.sql: for each file BEGIN; \\ir file; INSERT ledger row; COMMIT; (ON_ERROR_STOP)',
        command: (ctx) => ({ file: psql, args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', 'run.sql'], env: libpqEnv(ctx), cwd: ctx.dir }),
      },
      {
        key: 'psql1',
        runtime: 'c',
        label: 'psql -1 of the concatenation (floor)',
        role: 'baseline',
        scenarios: ['apply'],
        layout: 'psql-single',
        ledgerCountSql: 'SELECT count(*)::int AS n FROM schema_migrations',
        describe: 'psql -X -q -1 -f all.sql: every file and ledger row in ONE transaction, one commit',
        command: (ctx) => ({
          file: psql,
          args: ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', 'all.sql'],
          env: libpqEnv(ctx),
          cwd: ctx.dir,
        }),
      },
      {
        key: 'psqlread',
        runtime: 'c',
        label: 'psql reading the ledger (C client floor)',
        role: 'baseline',
        scenarios: ['steady', 'concurrent'],
        layout: 'psql-session',
        databaseOf: 'psqlsess',
        describe: "psql -X -q -A -t -c 'SELECT id FROM schema_migrations ORDER BY id': one connection, one query",
        command: (ctx) => ({
          file: psql,
          args: ['-X', '-q', '-A', '-t', '-c', 'SELECT id FROM schema_migrations ORDER BY id'],
          env: libpqEnv(ctx),
          cwd: ctx.dir,
        }),
      },
    );
  }

  // Two floors for a Node program that reads the ledger, on xyn-migrate's migrated database.
  const floor = (key: string, script: string, label: string, describe: string): Tool => ({
    key,
    runtime: 'node',
    label,
    role: 'baseline',
    scenarios: ['steady'],
    layout: 'xyn', // only so that it reads xyn-migrate's migrated database
    databaseOf: 'xyn',
    describe,
    command: (ctx) => ({
      file: node,
      args: [join(root, 'bench', 'floors', script)],
      env: baseEnv({ DATABASE_URL: ctx.server.url(ctx.database) }),
      cwd: ctx.root,
    }),
  });
  tools.push(
    floor(
      'nodepg',
      'pg-read-ledger.cjs',
      'node + pg reading the ledger (driver floor)',
      'bench/floors/pg-read-ledger.cjs: the pg driver connects, reads the ledger, disconnects',
    ),
    floor(
      'nodesock',
      'socket-read-ledger.cjs',
      'node + a bare socket reading the ledger (Node client floor)',
      'bench/floors/socket-read-ledger.cjs: startup, password, one simple query over a bare socket, no driver',
    ),
  );

  tools.push({
    key: 'node0',
    runtime: 'node',
    label: 'node -e 0 (Node floor)',
    role: 'baseline',
    scenarios: ['steady', 'concurrent'],
    layout: undefined,
    describe: 'node -e 0: start-up and exit of an empty Node program',
    command: (ctx) => ({ file: node, args: ['-e', '0'], env: baseEnv({}), cwd: ctx.root }),
  });
  return tools;
}
