/**
 * The `fleet` scenario (issue 17): the repository's six core migrations (migrations/*.sql) applied
 * to N empty databases on the bench server, and to N tenant schemas of one database, three ways:
 *
 *   - psql floor: one `psql -f 000 … -f 005` process per target (the six files in one session),
 *     4 at a time — what `xargs -P 4` does, as a 4-wide process pool in Node
 *   - process loop: one `xyn-migrate migrate` process per target, 4 at a time (what users do today;
 *     for a schema, a one-line targets file per process)
 *   - ours: one `xyn-migrate migrate --targets-file FILE` with XYN_CONCURRENCY=4
 *
 * and the no-op pass right after each (psql `SELECT 1` per target; the loop and ours again on the
 * migrated targets). Databases are created before and dropped after each tool's runs, outside
 * the timing, so every tool starts from a clean set; a CHECKPOINT precedes every timed pass.
 *
 *   BENCH_FLEET_N=200[,1000]  the fleet sizes (default 200 quick, 1000 full)
 *   BENCH_FLEET_RUNS=2        measured applies per tool (default 2 quick, 1 full); each has its
 *                             own fresh set of databases
 *   BENCH_FLEET_NOOP_RUNS=3   no-op passes after each apply (default 3 quick, 2 full)
 *   BENCH_FLEET_SCHEMAS=0     leave out the schema-per-tenant part (=only: nothing else)
 *   BENCH_FLEET_TOOLS=ours    only these of ours, loop, psql (a size where only ours matters: RSS, the 60 s)
 *   BENCH_FLEET_PROFILE_N=20  targets in the untimed diagnostic pass through the counting proxy
 *                             (round trips, connections, WAL fsyncs per target; 0 = none)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, median, type Command, type Runner } from './measure.js';
import { activityCounters, adminClient, checkpoint, throughPort, type BenchServer } from './postgres.js';
import { startProxy } from './protocol.js';
import { markdownTable, mebibytes, seconds } from './report.js';
import { libpqEnv, xynEnv } from './tools.js';

/** Targets in progress at once, for every tool (the issue's `xargs -P 4` and XYN_CONCURRENCY=4). */
const WIDTH = 4;
const SCHEMA_DATABASE = 'bench_fleet_schemas';
const LEDGER_ROWS = 6;

export interface FleetSettings {
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly noopRuns: number;
  readonly layouts: readonly Layout[];
  readonly profileN: number;
  /** the tools to run (default all) */
  readonly tools: ReadonlySet<string> | undefined;
}

type Layout = 'databases' | 'schemas';
type Pass = 'apply' | 'noop';

interface FleetTarget {
  readonly database: string;
  readonly schema?: string;
}

interface PassResult {
  readonly wallMs: number;
  /** the one process's peak RSS (ours only: a pool of processes has no single figure) */
  readonly rssKiB: number | undefined;
  readonly cpuMs: number | undefined;
  readonly failure: string | undefined;
}

interface FleetTool {
  readonly key: 'psql' | 'loop' | 'ours';
  readonly label: (pass: Pass) => string;
  run(pass: Pass, server: BenchServer, set: TargetSet): Promise<PassResult>;
}

/** N targets of one layout, with the files the commands read. */
interface TargetSet {
  readonly n: number;
  readonly layout: Layout;
  readonly targets: readonly FleetTarget[];
  /** the whole fleet, one target a line */
  readonly targetsFile: string;
  /** one one-line targets file per target (the loop over schemas) */
  readonly oneLineFiles: readonly string[];
}

interface FleetRow {
  readonly n: number;
  readonly layout: Layout;
  readonly tool: FleetTool['key'];
  readonly pass: Pass;
  readonly label: string;
  readonly walls: number[];
  readonly rss: number[];
  readonly cpu: number[];
  readonly fsyncs: number[];
  failure?: string;
}

interface ProfileLine {
  readonly layout: Layout;
  readonly label: string;
  readonly roundTrips: number;
  readonly connections: number;
  readonly walFsyncs: number;
  readonly failure: string | undefined;
}

function positive(raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1))
    throw new Error(`not a ${allowZero ? 'non-negative' : 'positive'} integer: ${raw}`);
  return value;
}

/** BENCH_FLEET_SCHEMAS: 0 leaves the schemas out, only leaves the databases out. */
const SCHEMAS_KNOB: Readonly<Record<string, readonly Layout[]>> = { '0': ['databases'], only: ['schemas'] };

export function fleetSettings(quick: boolean): FleetSettings {
  const raw = process.env.BENCH_FLEET_N;
  const sizes = raw ? raw.split(',').map((v) => positive(v.trim(), 0)) : [quick ? 200 : 1000];
  return {
    sizes,
    runs: positive(process.env.BENCH_FLEET_RUNS, quick ? 2 : 1),
    noopRuns: positive(process.env.BENCH_FLEET_NOOP_RUNS, quick ? 3 : 2),
    layouts: SCHEMAS_KNOB[process.env.BENCH_FLEET_SCHEMAS ?? ''] ?? ['databases', 'schemas'],
    profileN: positive(process.env.BENCH_FLEET_PROFILE_N, 20, true),
    tools: process.env.BENCH_FLEET_TOOLS ? new Set(process.env.BENCH_FLEET_TOOLS.split(',').map((t) => t.trim())) : undefined,
  };
}

/** Runs a process to its end without timing it; resolves with a failure message or undefined. */
function runQuiet(command: Command): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command.file, [...command.args], { cwd: command.cwd, env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    child.once('error', (error) => resolve(error.message));
    child.once('close', (exitCode, signal) =>
      resolve(failureOf({ wallMs: 0, maxRssKiB: undefined, cpuMs: undefined, exitCode, signal, stderrTail: stderr })),
    );
  });
}

/** `xargs -P width`: every item's process, at most `width` at once; wall time from first spawn to last exit. */
async function processPool<T>(items: readonly T[], width: number, command: (item: T) => Command): Promise<PassResult> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let first: string | undefined;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const failure = await runQuiet(command(items[next++] as T));
        if (failure !== undefined) {
          failed++;
          first ??= failure;
        }
      }
    }),
  );
  const wallMs = performance.now() - started;
  return {
    wallMs,
    rssKiB: undefined,
    cpuMs: undefined,
    failure: first === undefined ? undefined : `${failed} of ${items.length} processes failed, e.g. ${first}`,
  };
}

/** Runs `statements` on the maintenance database over `width` connections. */
async function onServer(server: BenchServer, statements: readonly string[], width = WIDTH): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, statements.length) }, async () => {
      const client = adminClient(server);
      await client.connect();
      try {
        while (next < statements.length) await client.query(statements[next++] as string);
      } finally {
        await client.end();
      }
    }),
  );
}

const databasesOf = (set: TargetSet): string[] => [...new Set(set.targets.map((t) => t.database))];

async function createTargets(server: BenchServer, set: TargetSet): Promise<void> {
  await dropTargets(server, set);
  await onServer(
    server,
    databasesOf(set).map((d) => `CREATE DATABASE ${d}`),
  );
}

async function dropTargets(server: BenchServer, set: TargetSet): Promise<void> {
  await onServer(
    server,
    databasesOf(set).map((d) => `DROP DATABASE IF EXISTS ${d} WITH (FORCE)`),
  );
}

/** Every target's ledger holds the six rows: all schemas in one query, databases each (up to 1000 short connections, untimed). */
async function verify(server: BenchServer, set: TargetSet): Promise<string | undefined> {
  let short = 0;
  let example = '';
  if (set.layout === 'schemas') {
    const rows = await server.query<{ schema: string; n: number }>(
      `SELECT s.schema, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.schema_migrations', s.schema), false, true, '')))[1]::text::int AS n
         FROM unnest(ARRAY[${set.targets.map((t) => `'${t.schema ?? ''}'`).join(',')}]) AS s(schema)
        WHERE to_regclass(format('%I.schema_migrations', s.schema)) IS NOT NULL`,
      SCHEMA_DATABASE,
    );
    const good = rows.filter((r) => r.n === LEDGER_ROWS).length;
    short = set.n - good;
    example = rows.find((r) => r.n !== LEDGER_ROWS)?.schema ?? '';
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: WIDTH }, async () => {
        while (next < set.targets.length) {
          const database = set.targets[next++]?.database ?? '';
          const [row] = await server
            .query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations', database)
            .catch(() => [{ n: -1 }]);
          if (row?.n !== LEDGER_ROWS) {
            short++;
            example ||= database;
          }
        }
      }),
    );
  }
  return short === 0
    ? undefined
    : `verification failed: ${short} of ${set.n} targets lack the ${LEDGER_ROWS} ledger rows${example ? ` (e.g. ${example})` : ''}`;
}

function fleetTools(root: string, xynCli: string, psql: string | undefined, runner: Runner): FleetTool[] {
  const migrationsDir = join(root, 'migrations');
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_.*\.sql$/.test(f))
    .sort();
  const psqlCommand = (server: BenchServer, target: FleetTarget, args: readonly string[]): Command => ({
    file: psql ?? 'psql',
    args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args],
    env: libpqEnv({ server, database: target.database }),
    cwd: migrationsDir,
  });
  const sixFiles = files.flatMap((f) => ['-f', f]);
  const xyn = (server: BenchServer, database: string, args: readonly string[] = []): Command => ({
    file: process.execPath,
    args: [xynCli, 'migrate', ...args],
    env: xynEnv(server.url(database), migrationsDir, { XYN_CONCURRENCY: String(WIDTH) }),
    cwd: root,
  });
  const tools: FleetTool[] = [
    {
      key: 'ours',
      label: (pass) => (pass === 'apply' ? 'xyn-migrate --targets-file, XYN_CONCURRENCY=4 (ours)' : 'ours, nothing to do'),
      async run(_pass, server, set) {
        const result = await runner.run(xyn(server, 'postgres', ['--targets-file', set.targetsFile]));
        return { wallMs: result.wallMs, rssKiB: result.maxRssKiB, cpuMs: result.cpuMs, failure: failureOf(result) };
      },
    },
    {
      key: 'loop',
      label: (pass) => (pass === 'apply' ? 'loop of xyn-migrate processes, 4 at a time' : 'loop of xyn-migrate processes, nothing to do'),
      run: (_pass, server, set) =>
        set.layout === 'databases'
          ? processPool(set.targets, WIDTH, (t) => xyn(server, t.database))
          : processPool(set.oneLineFiles, WIDTH, (file) => xyn(server, SCHEMA_DATABASE, ['--targets-file', file])),
    },
  ];
  if (psql) {
    tools.push({
      key: 'psql',
      label: (pass) =>
        pass === 'apply'
          ? 'psql -f ×6 in one session per target, 4 at a time (floor)'
          : "psql -c 'SELECT 1' per target, 4 at a time (floor)",
      run: (pass, server, set) =>
        processPool(set.targets, WIDTH, (t) => {
          if (pass === 'noop') return psqlCommand(server, t, ['-A', '-t', '-c', 'SELECT 1']);
          const searchPath = t.schema ? ['-c', `CREATE SCHEMA IF NOT EXISTS ${t.schema}; SET search_path TO ${t.schema}`] : [];
          return psqlCommand(server, t, [...searchPath, ...sixFiles]);
        }),
    });
  }
  return tools;
}

function targetSet(work: string, n: number, layout: Layout): TargetSet {
  const width = Math.max(4, String(n).length);
  const name = (i: number) => String(i).padStart(width, '0');
  const targets: FleetTarget[] = Array.from({ length: n }, (_, i) =>
    layout === 'databases' ? { database: `bench_fleet_${name(i + 1)}` } : { database: SCHEMA_DATABASE, schema: `tenant_${name(i + 1)}` },
  );
  const dir = join(work, 'fleet', `${layout}-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'one'), { recursive: true });
  const line = (t: FleetTarget) => (t.schema ? `${t.database} ${t.schema}` : t.database);
  const targetsFile = join(dir, 'targets.txt');
  writeFileSync(targetsFile, `${targets.map(line).join('\n')}\n`);
  const oneLineFiles = layout === 'schemas' ? targets.map((_t, i) => join(dir, 'one', `${name(i + 1)}.txt`)) : [];
  oneLineFiles.forEach((file, i) => writeFileSync(file, `${line(targets[i] as FleetTarget)}\n`));
  return { n, layout, targets, targetsFile, oneLineFiles };
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % Math.max(items.length, 1);
  return [...items.slice(k), ...items.slice(0, k)];
}

export interface FleetOutcome {
  readonly markdown: string;
  readonly seconds: number;
}

/** Runs the whole scenario and returns its section of results.md. */
export async function fleetBench(
  server: BenchServer,
  runner: Runner,
  options: {
    root: string;
    work: string;
    xynCli: string;
    psql: string | undefined;
    settings: FleetSettings;
    progress: (text: string) => void;
  },
): Promise<FleetOutcome> {
  const { settings, progress } = options;
  const started = Date.now();
  const tools = fleetTools(options.root, options.xynCli, options.psql, runner).filter((t) => !settings.tools || settings.tools.has(t.key));
  const rows: FleetRow[] = [];
  const rowFor = (n: number, layout: Layout, tool: FleetTool, pass: Pass): FleetRow => {
    let row = rows.find((r) => r.n === n && r.layout === layout && r.tool === tool.key && r.pass === pass);
    if (!row) {
      row = { n, layout, tool: tool.key, pass, label: tool.label(pass), walls: [], rss: [], cpu: [], fsyncs: [] };
      rows.push(row);
    }
    return row;
  };
  const layouts = settings.layouts;
  const timed = async (tool: FleetTool, pass: Pass, set: TargetSet, what: string): Promise<boolean> => {
    const row = rowFor(set.n, set.layout, tool, pass);
    await checkpoint(server);
    const before = await activityCounters(server, 'postgres');
    const result = await tool.run(pass, server, set);
    const after = await activityCounters(server, 'postgres');
    const failure = result.failure ?? (pass === 'apply' ? await verify(server, set) : undefined);
    progress(
      `  [fleet ${set.layout} N=${set.n}] ${row.label} ${what}: ${seconds(result.wallMs)} s${result.rssKiB ? `, ${mebibytes(result.rssKiB)} MiB` : ''}${failure ? ` — ${failure}` : ''}`,
    );
    if (failure) {
      row.failure = failure;
      return false;
    }
    row.walls.push(result.wallMs);
    if (result.rssKiB !== undefined) row.rss.push(result.rssKiB);
    if (result.cpuMs !== undefined) row.cpu.push(result.cpuMs);
    row.fsyncs.push(after.walFsyncs - before.walFsyncs);
    return true;
  };

  for (const n of settings.sizes) {
    for (const layout of layouts) {
      const set = targetSet(options.work, n, layout);
      for (let rep = 0; rep < settings.runs; rep++) {
        for (const tool of rotated(tools, rep)) {
          const t0 = Date.now();
          await createTargets(server, set);
          progress(
            `  [fleet ${layout} N=${n}] created ${layout === 'schemas' ? '1 database' : `${n} databases`} in ${((Date.now() - t0) / 1000).toFixed(1)} s (untimed)`,
          );
          if (await timed(tool, 'apply', set, `run ${rep + 1}/${settings.runs}`)) {
            for (let k = 0; k < settings.noopRuns; k++) if (!(await timed(tool, 'noop', set, `no-op ${k + 1}/${settings.noopRuns}`))) break;
          }
          await dropTargets(server, set);
        }
      }
    }
  }
  const profile = settings.profileN > 0 ? await profilePass(server, options.work, tools, settings.profileN, layouts, progress) : [];
  return { markdown: fleetMarkdown(rows, profile, settings), seconds: (Date.now() - started) / 1000 };
}

/**
 * Untimed: each tool once more on `n` fresh targets through the counting proxy, apply then no-op:
 * round trips, connections and WAL fsyncs (the commits that waited for the disk) per target.
 */
async function profilePass(
  server: BenchServer,
  work: string,
  tools: readonly FleetTool[],
  n: number,
  layouts: readonly Layout[],
  progress: (text: string) => void,
): Promise<ProfileLine[]> {
  const proxy = await startProxy(server.host, server.port);
  const via = throughPort(server, proxy.port);
  const lines: ProfileLine[] = [];
  try {
    for (const layout of layouts) {
      const set = targetSet(work, n, layout);
      for (const tool of tools) {
        await createTargets(server, set);
        for (const pass of ['apply', 'noop'] as const) {
          await checkpoint(server);
          const before = await activityCounters(server, 'postgres');
          proxy.reset();
          const result = await tool.run(pass, via, set);
          const after = await activityCounters(server, 'postgres');
          const counts = proxy.counts();
          lines.push({
            layout,
            label: tool.label(pass),
            roundTrips: (counts.simpleQueries + counts.syncs) / n,
            connections: counts.connections / n,
            walFsyncs: (after.walFsyncs - before.walFsyncs) / n,
            failure: result.failure,
          });
          progress(
            `  [fleet profile ${layout} N=${n}] ${tool.label(pass)}: ${result.failure ?? `${(counts.simpleQueries + counts.syncs) / n} round trips a target`}`,
          );
        }
        await dropTargets(server, set);
      }
    }
  } finally {
    await proxy.close();
  }
  return lines;
}

function fleetMarkdown(rows: readonly FleetRow[], profile: readonly ProfileLine[], settings: FleetSettings): string {
  const find = (n: number, layout: Layout, tool: FleetTool['key'], pass: Pass) =>
    rows.find((r) => r.n === n && r.layout === layout && r.tool === tool && r.pass === pass && !r.failure && r.walls.length > 0);
  const med = (r: FleetRow | undefined) => (r ? median(r.walls) : Number.NaN);
  const body = rows.map((r) => {
    const ok = !r.failure && r.walls.length > 0;
    const floor = med(find(r.n, r.layout, 'psql', r.pass));
    const perTarget = ok ? (med(r) / r.n).toFixed(1) : '';
    return [
      `${r.layout === 'databases' ? 'databases' : 'schemas of one database'}, N = ${r.n}`,
      r.label,
      ok ? seconds(med(r)) : 'FAILED',
      ok ? `${seconds(Math.min(...r.walls))}–${seconds(Math.max(...r.walls))}` : (r.failure ?? ''),
      perTarget,
      r.rss.length > 0 ? mebibytes(Math.max(...r.rss)) : '',
      r.cpu.length > 0 ? seconds(median(r.cpu)) : '',
      ok ? String(median(r.fsyncs)) : '',
      ok ? String(r.walls.length) : '',
      ok && Number.isFinite(floor) ? `${(med(r) / floor).toFixed(2)}×` : '–',
    ];
  });
  const header = ['targets', 'tool', 'median s', 'min–max s', 'ms a target', 'peak RSS MiB', 'CPU s', 'WAL fsyncs', 'runs', '× psql floor'];
  const tables = [
    `### Fleet: the six core migrations on N targets, ${WIDTH} at a time\n\n${markdownTable(header, body, new Set([2, 4, 5, 6, 7, 8, 9]))}\n`,
  ];

  const lines: string[][] = [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  for (const n of settings.sizes) {
    for (const layout of ['databases', 'schemas'] as const) {
      const where = `${layout === 'databases' ? 'databases' : 'schemas'}, N = ${n}`;
      const ours = find(n, layout, 'ours', 'apply');
      const loop = find(n, layout, 'loop', 'apply');
      const floor = find(n, layout, 'psql', 'apply');
      if (ours && floor)
        lines.push([
          `${where}: ours ≤ 1.0× the psql floor`,
          `${(med(ours) / med(floor)).toFixed(2)}× (${seconds(med(ours))} s vs ${seconds(med(floor))} s)`,
          verdict(med(ours) <= med(floor)),
        ]);
      if (ours && loop)
        lines.push([
          `${where}: ours ≥ 1.5× faster than the process loop`,
          `${(med(loop) / med(ours)).toFixed(2)}× (${seconds(med(loop))} s vs ${seconds(med(ours))} s)`,
          verdict(med(loop) / med(ours) >= 1.5),
        ]);
      const oursNoop = find(n, layout, 'ours', 'noop');
      const select1 = find(n, layout, 'psql', 'noop');
      if (oursNoop && select1)
        lines.push([
          `${where}: no-op ≤ 1.3× psql \`SELECT 1\` per target`,
          `${(med(oursNoop) / med(select1)).toFixed(2)}× (${seconds(med(oursNoop))} s vs ${seconds(med(select1))} s)`,
          verdict(med(oursNoop) <= 1.3 * med(select1)),
        ]);
      if (ours && n >= 1000 && layout === 'databases')
        lines.push([`${where}: ours under 60 s`, `${seconds(med(ours))} s`, verdict(med(ours) < 60_000)]);
    }
  }
  const rss = rows.filter((r) => r.tool === 'ours' && r.rss.length > 0);
  if (rss.length > 0) {
    const peak = Math.max(...rss.flatMap((r) => r.rss));
    const bySize = settings.sizes.map((n) => {
      const values = rss.filter((r) => r.n === n).flatMap((r) => r.rss);
      return `N = ${n}: ${values.length > 0 ? mebibytes(Math.max(...values)) : 'n/a'} MiB`;
    });
    lines.push(['ours: peak RSS under 120 MiB (flat in N: compare the sizes)', bySize.join(', '), verdict(peak < 120 * 1024)]);
  }
  if (lines.length > 0)
    tables.push(
      `### Issue 17 targets (fleet), checked against this run\n\n${markdownTable(['target', 'measured', 'verdict'], lines, new Set())}\n`,
    );

  if (profile.length > 0) {
    const perTarget = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
    const body2 = profile.map((p) => [
      p.layout,
      p.label,
      p.failure ? 'FAILED' : perTarget(p.roundTrips),
      p.failure ? '' : perTarget(p.connections),
      p.failure ? '' : perTarget(p.walFsyncs),
    ]);
    tables.push(
      `### Fleet diagnostics: per target, one untimed pass of ${settings.profileN} targets through a counting proxy\n\n${markdownTable(['targets', 'tool', 'round trips', 'connections', 'WAL fsyncs'], body2, new Set([2, 3, 4]))}\n`,
    );
  }
  const about = [
    `- Fleet: migrations/*.sql (the repository's six core files) on N empty databases created on the bench server (and N tenant schemas of the database \`${SCHEMA_DATABASE}\`); every tool gets a fresh set (created before, dropped after its runs, untimed), a CHECKPOINT precedes every timed pass, and after an apply every target's ledger must hold the six rows. ${settings.runs} measured apply run(s) per tool, round-robin, each followed by ${settings.noopRuns} no-op pass(es) on what it migrated. WAL fsyncs = the cluster's during the pass.`,
    '- psql floor: `psql -X -q -v ON_ERROR_STOP=1 -f 000_….sql … -f 005_….sql` per target (for a schema, first `-c "CREATE SCHEMA IF NOT EXISTS t; SET search_path TO t"`), a 4-wide process pool (`xargs -P 4`); its no-op is `psql -c "SELECT 1"` per target. Loop: `node dist/cli.js migrate` per database (per schema: with a one-line targets file), 4 at a time. Ours: `node dist/cli.js migrate --targets-file FILE`, XYN_CONCURRENCY=4. Pool rows time the pool from first spawn to last exit (no GNU time around each process); ours is timed like every other row of this bench.',
  ];
  return [...tables, ...about, ''].join('\n');
}
