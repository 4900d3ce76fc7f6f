/**
 * Loading the configuration: the reader of process.env (besides src/start.ts, which reads only the
 * code-cache training variable before the program is loaded). Every variable of the table in
 * config/variables.ts is validated with envalid; one ConfigError names every bad variable at once.
 * Flags from the command line arrive as the variables they stand for, so they are validated (and
 * named) the same way.
 */
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { cleanEnv, EnvMissingError } from 'envalid';
import { ConfigError } from './errors.js';
import { editDistance } from './argv.js';
import { connectionTarget, type ConnectionTarget, type TlsDefaults } from './target.js';
import type { LogFormat } from './log.js';
import type { MigrationPhase } from './migrations/naming.js';
import type { RequiredMigrations } from './plan.js';
import { flagOf, flagRows, knownVariables, specs } from './config/variables.js';
import { defaultTerminationLog, readUrlFile } from './config/url-secrets.js';
import type { AuthMode } from './auth/token.js';

export interface Config {
  /** undefined when nothing names a database (fine for `new` and `lint`). */
  readonly database: ConnectionTarget | undefined;
  /** the PG* TLS variables, for every other URL (XYN_REHEARSE_URL, a fleet's URL targets) */
  readonly tlsDefaults: TlsDefaults;
  readonly migrationsDir: string;
  readonly required: RequiredMigrations;
  readonly waitTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly ddlLockTimeoutMs: number;
  readonly ddlRetries: number;
  readonly statementTimeoutMs: number;
  /** how long others may wait on a running migration's locks before it is cancelled; 0 = off */
  readonly maxBlockingMs: number;
  readonly recordRuns: 'auto' | 'off';
  readonly ledger: { readonly schema: string; readonly table: string };
  readonly allowDrift: boolean;
  readonly allowOutOfOrder: boolean;
  readonly allowMissingFiles: boolean;
  /** `pre` leaves `-- xyn:post-deploy` files pending (before the rollout); `post` applies them too */
  readonly phase: MigrationPhase;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  /** where the one-sentence failure reason goes; undefined = nowhere */
  readonly terminationLog: string | undefined;
  /** written into the ledger's applied_by column */
  readonly appliedBy: string;
  /** this machine or pod ($HOSTNAME in Kubernetes) */
  readonly host: string;
  /** `rehearse`: an empty database to use instead of a scratch one */
  readonly rehearseUrl: string | undefined;
  /** a tenant schema: the files run with search_path set to it (a fleet target; undefined otherwise) */
  readonly searchPath: string | undefined;
  /** many databases in one job; undefined for the ordinary single-database run */
  readonly fleet: FleetConfig | undefined;
}

export interface FleetConfig {
  readonly source: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'query'; readonly sql: string };
  /** targets in progress at once */
  readonly concurrency: number;
  /** this process's share: targets whose stable hash mod `count` is `index` */
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  /** the first k targets go first; a failure among them leaves the rest skipped */
  readonly canary: number;
}

function describe(variable: string, error: Error): string {
  const flagName = flagOf(variable);
  const where = flagName ? `${variable} (--${flagName})` : variable;
  if (error instanceof EnvMissingError) return `${where} is required`;
  return `${where}: ${error.message}`;
}

function throwingReporter({ errors }: { errors: Partial<Record<string, Error>> }): void {
  const problems = Object.entries(errors).flatMap(([variable, error]) => (error ? [describe(variable, error)] : []));
  if (problems.length === 0) return;
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}.`, { variables: Object.keys(errors) });
}

type Environment = Readonly<Record<string, string | undefined>>;

/** Who runs us: a terminal on stderr (pretty logs), and on stdin too (a person waiting). */
export interface Terminal {
  readonly stderr: boolean;
  readonly stdin?: boolean;
}

/** The commands that only read: a person at a terminal waits for them, so they wait less by default. */
const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['status', 'plan', 'verify']);
/**
 * XYN_WAIT_TIMEOUT's default for a read-only command run by a person (stdin and stderr are
 * terminals): a typo'd port should not cost them a minute; a job keeps the full default.
 */
export const PERSON_WAIT_TIMEOUT_MS = 10_000;

/**
 * Validates the environment (with flags, keyed by flag name, folded in) and resolves the database
 * target. `process.env` and the real terminals are the defaults; tests pass their own.
 */
export function loadConfig(
  flags: Readonly<Record<string, string | undefined>> = {},
  env: Environment = process.env,
  terminal: Terminal = { stderr: isatty(2), stdin: isatty(0) },
  command?: string,
): Config {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, variable] of flagRows) {
    const value = flags[flag];
    if (value !== undefined) merged[variable] = value;
  }
  const e = cleanEnv(merged, specs, { reporter: throwingReporter });
  const personWaits = terminal.stderr && terminal.stdin === true && command !== undefined && READ_ONLY_COMMANDS.has(command);
  const tls = tlsDefaults(e);
  return Object.freeze({
    database: resolveDatabase(e, tls),
    tlsDefaults: tls,
    migrationsDir: e.XYN_MIGRATIONS_DIR,
    required: e.XYN_REQUIRED_MIGRATIONS,
    waitTimeoutMs: merged.XYN_WAIT_TIMEOUT === undefined && personWaits ? PERSON_WAIT_TIMEOUT_MS : e.XYN_WAIT_TIMEOUT,
    lockTimeoutMs: e.XYN_LOCK_TIMEOUT,
    ddlLockTimeoutMs: e.XYN_DDL_LOCK_TIMEOUT,
    ddlRetries: e.XYN_DDL_RETRIES,
    statementTimeoutMs: e.XYN_STATEMENT_TIMEOUT,
    maxBlockingMs: e.XYN_MAX_BLOCKING,
    recordRuns: e.XYN_RECORD_RUNS,
    ledger: Object.freeze({ schema: e.XYN_LEDGER_SCHEMA, table: e.XYN_LEDGER_TABLE }),
    allowDrift: e.XYN_ALLOW_DRIFT,
    allowOutOfOrder: e.XYN_ALLOW_OUT_OF_ORDER,
    allowMissingFiles: e.XYN_ALLOW_MISSING_FILES,
    phase: e.XYN_PHASE,
    logLevel: e.LOG_LEVEL,
    // auto: pretty for a person at a terminal, JSON for a log collector
    logFormat: e.XYN_LOG_FORMAT === 'auto' ? (terminal.stderr ? 'pretty' : 'json') : e.XYN_LOG_FORMAT,
    terminationLog: e.XYN_TERMINATION_LOG ?? defaultTerminationLog(),
    appliedBy: e.XYN_APPLIED_BY ?? `xyn-migrate on ${env.HOSTNAME ?? hostname()}`,
    host: env.HOSTNAME ?? hostname(),
    rehearseUrl: e.XYN_REHEARSE_URL,
    searchPath: undefined,
    fleet: fleetConfig(e),
  });
}

/**
 * One sentence per `XYN_*` variable the program does not know, naming the closest known one
 * (never the value: a misspelt variable may hold a password).
 */
export function unknownVariableWarnings(env: Environment = process.env): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('XYN_') && !knownVariables.includes(name))
    .sort()
    .map((name) => {
      const [closest] = [...knownVariables].sort((a, b) => editDistance(name, a) - editDistance(name, b) || a.localeCompare(b));
      const near = closest !== undefined && editDistance(name, closest) <= Math.max(3, Math.floor(name.length / 3));
      return near ? `unknown variable ${name}; did you mean ${closest}?` : `unknown variable ${name}; it is ignored`;
    });
}

interface FleetVariables {
  XYN_TARGETS_FILE?: string | undefined;
  XYN_TARGETS_QUERY?: string | undefined;
  XYN_CONCURRENCY: number;
  XYN_SHARD?: { index: number; count: number } | undefined;
  XYN_SHARDS?: number | undefined;
  JOB_COMPLETION_INDEX?: number | undefined;
  XYN_CANARY: number;
}

function fleetConfig(e: FleetVariables): FleetConfig | undefined {
  const invalid = (message: string, variables: string[]) => new ConfigError(`Invalid configuration: ${message}.`, { variables });
  if (e.XYN_TARGETS_FILE !== undefined && e.XYN_TARGETS_QUERY !== undefined) {
    throw invalid('XYN_TARGETS_FILE and XYN_TARGETS_QUERY are both set; set only one', ['XYN_TARGETS_FILE', 'XYN_TARGETS_QUERY']);
  }
  let shard = e.XYN_SHARD;
  if (e.XYN_SHARDS !== undefined) {
    if (shard !== undefined) throw invalid('XYN_SHARD and XYN_SHARDS are both set; set only one', ['XYN_SHARD', 'XYN_SHARDS']);
    const index = e.JOB_COMPLETION_INDEX;
    if (index === undefined) {
      throw invalid('XYN_SHARDS needs JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job); outside one, set XYN_SHARD=i/n', [
        'XYN_SHARDS',
        'JOB_COMPLETION_INDEX',
      ]);
    }
    if (index >= e.XYN_SHARDS)
      throw invalid(`JOB_COMPLETION_INDEX ${index} is not below XYN_SHARDS ${e.XYN_SHARDS}`, ['XYN_SHARDS', 'JOB_COMPLETION_INDEX']);
    shard = { index, count: e.XYN_SHARDS };
  }
  const source =
    e.XYN_TARGETS_FILE !== undefined
      ? { kind: 'file' as const, path: e.XYN_TARGETS_FILE }
      : e.XYN_TARGETS_QUERY !== undefined
        ? { kind: 'query' as const, sql: e.XYN_TARGETS_QUERY }
        : undefined;
  if (source === undefined) {
    if (shard !== undefined || e.XYN_CANARY > 0)
      throw invalid('XYN_SHARD, XYN_SHARDS and XYN_CANARY need targets: set XYN_TARGETS_FILE or XYN_TARGETS_QUERY', ['XYN_TARGETS_FILE']);
    return undefined;
  }
  return Object.freeze({ source, concurrency: e.XYN_CONCURRENCY, shard, canary: e.XYN_CANARY });
}

interface DatabaseVariables {
  DATABASE_URL?: string | undefined;
  DATABASE_URL_FILE?: string | undefined;
  PGHOST?: string | undefined;
  PGPORT?: string | undefined;
  PGUSER?: string | undefined;
  PGPASSWORD?: string | undefined;
  PGDATABASE?: string | undefined;
  PGSSLMODE?: string | undefined;
  PGSSLROOTCERT?: string | undefined;
  PGSSLCERT?: string | undefined;
  PGSSLKEY?: string | undefined;
  XYN_AUTH: AuthMode;
}

function tlsDefaults(e: DatabaseVariables): TlsDefaults {
  return Object.freeze({ sslmode: e.PGSSLMODE, sslrootcert: e.PGSSLROOTCERT, sslcert: e.PGSSLCERT, sslkey: e.PGSSLKEY, auth: e.XYN_AUTH });
}

function resolveDatabase(e: DatabaseVariables, libpqDefaults: TlsDefaults): ConnectionTarget | undefined {
  if (e.DATABASE_URL !== undefined && e.DATABASE_URL_FILE !== undefined) {
    throw new ConfigError('Invalid configuration: DATABASE_URL and DATABASE_URL_FILE are both set; set only one.', {
      variables: ['DATABASE_URL', 'DATABASE_URL_FILE'],
    });
  }
  if (e.DATABASE_URL !== undefined) return connectionTarget(e.DATABASE_URL, 'DATABASE_URL', libpqDefaults);
  if (e.DATABASE_URL_FILE !== undefined) {
    return connectionTarget(readUrlFile(e.DATABASE_URL_FILE), `DATABASE_URL_FILE (${e.DATABASE_URL_FILE})`, libpqDefaults);
  }
  if (e.PGHOST === undefined && e.PGDATABASE === undefined) return undefined;
  return connectionTarget(undefined, 'PG* variables', {
    ...libpqDefaults,
    host: e.PGHOST,
    port: e.PGPORT,
    user: e.PGUSER,
    password: e.PGPASSWORD,
    database: e.PGDATABASE,
  });
}
