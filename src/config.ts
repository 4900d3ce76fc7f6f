/**
 * The reader of process.env (besides src/start.ts, which reads only the code-cache training
 * variable before the program is loaded). Every variable of the contract is validated here with envalid;
 * one ConfigError names every bad variable at once. Flags from the command line arrive as the
 * variables they stand for, so they are validated (and named) the same way.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { cleanEnv, makeValidator, str, EnvMissingError } from 'envalid';
import { ConfigError } from './errors.js';
import { registerSecret } from './secrets.js';
import { connectionTarget, isPort, parseDatabaseUrl, type ConnectionTarget, type TlsDefaults } from './target.js';
import type { LogFormat } from './log.js';
import { isPlainIdentifier } from './migrations/ledger-name.js';
import { isMigrationId, type MigrationPhase } from './migrations/naming.js';
import type { RequiredMigrations } from './plan.js';

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
  /** targets in progress at once: a connection each, and a second (the blocking watchdog) while a file runs long */
  readonly concurrency: number;
  /** this process's share: targets whose stable hash mod `count` is `index` */
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  /** the first k targets go first; a failure among them leaves the rest skipped */
  readonly canary: number;
}

/** Which flag stands for which variable (flags win over the environment). */
export const flagVariables = {
  'migrations-dir': 'XYN_MIGRATIONS_DIR',
  required: 'XYN_REQUIRED_MIGRATIONS',
  'wait-timeout': 'XYN_WAIT_TIMEOUT',
  'lock-timeout': 'XYN_LOCK_TIMEOUT',
  'ddl-lock-timeout': 'XYN_DDL_LOCK_TIMEOUT',
  'ddl-retries': 'XYN_DDL_RETRIES',
  'statement-timeout': 'XYN_STATEMENT_TIMEOUT',
  'max-blocking': 'XYN_MAX_BLOCKING',
  'record-runs': 'XYN_RECORD_RUNS',
  'log-level': 'LOG_LEVEL',
  'log-format': 'XYN_LOG_FORMAT',
  'allow-drift': 'XYN_ALLOW_DRIFT',
  'allow-out-of-order': 'XYN_ALLOW_OUT_OF_ORDER',
  'allow-missing-files': 'XYN_ALLOW_MISSING_FILES',
  phase: 'XYN_PHASE',
  'targets-file': 'XYN_TARGETS_FILE',
  'targets-query': 'XYN_TARGETS_QUERY',
  concurrency: 'XYN_CONCURRENCY',
  shard: 'XYN_SHARD',
  shards: 'XYN_SHARDS',
  canary: 'XYN_CANARY',
} as const;
export type Flag = keyof typeof flagVariables;
/** Flags that take no value: `--allow-drift` alone means XYN_ALLOW_DRIFT=true. */
export const switchFlags: ReadonlySet<Flag> = new Set(['allow-drift', 'allow-out-of-order', 'allow-missing-files']);

function parseSeconds(raw: string): number {
  const trimmed = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new Error(`"${raw}" is not a number of seconds (e.g. 60 or 0.5)`);
  return Math.round(Number(trimmed) * 1000);
}

/** PostgreSQL's timeouts (lock_timeout, statement_timeout) are an int of milliseconds. */
const MAX_SETTING_MS = 2_147_483_647;
/** Seconds that become a PostgreSQL setting: refused here, at start, if the server would refuse them later. */
const settingSeconds = makeValidator<number>((raw) => {
  const ms = parseSeconds(raw);
  if (ms > MAX_SETTING_MS) {
    throw new Error(`"${raw}" is more than PostgreSQL takes for a timeout: 0 (none) to ${MAX_SETTING_MS / 1000} seconds (about 24 days)`);
  }
  return ms;
});

/** Seconds the program waits with a Node timer, which takes at most 2^31 - 1 ms (longer fires at once). */
const timerSeconds = makeValidator<number>((raw) => {
  const ms = parseSeconds(raw);
  if (ms > MAX_SETTING_MS) throw new Error(`"${raw}" is longer than can be waited: 0 to ${MAX_SETTING_MS / 1000} seconds (about 24 days)`);
  return ms;
});

const count = makeValidator<number>((raw) => {
  if (!/^\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number (e.g. 5)`);
  return Number(raw.trim());
});

const flag = makeValidator<boolean>((raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`"${raw}" is not true or false`);
});

const identifier = makeValidator<string>((raw) => {
  if (!isPlainIdentifier(raw)) {
    throw new Error(`"${raw}" is not a plain lower-case SQL identifier (letters, digits, _)`);
  }
  return raw;
});

const requiredList = makeValidator<RequiredMigrations>((raw) => {
  const v = raw.trim();
  if (v === 'all') return { kind: 'all' };
  const ids = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = ids.filter((id) => !isMigrationId(id));
  if (bad.length > 0) {
    throw new Error(`${bad.map((b) => `"${b}"`).join(', ')} is not a migration id like 001_initial_schema (or use "all")`);
  }
  return { kind: 'list', ids };
});

const positive = makeValidator<number>((raw) => {
  if (!/^[1-9]\d*$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number of 1 or more (e.g. 4)`);
  return Number(raw.trim());
});

const shard = makeValidator<{ index: number; count: number }>((raw) => {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1 && index >= 0 && index < count)) throw new Error(`"${raw}" is not a shard i/n with 0 ≤ i < n (e.g. 0/4)`);
  return { index, count };
});

/** Secrets are never echoed: these validators only say what shape is wrong. */
const secretText = makeValidator<string>((raw) => raw);
/** libpq's PGPORT: one port, or one per PGHOST entry (p1,p2). */
const portList = makeValidator<string>((raw) => {
  if (!raw.split(',').every((port) => port === '' || isPort(port)))
    throw new Error(`"${raw}" is not a TCP port (or a comma list of them, one per PGHOST)`);
  return raw;
});
const secretUrl = makeValidator<string>((raw) => {
  parseDatabaseUrl(raw);
  return raw;
});

const specs = {
  DATABASE_URL: secretUrl({ default: undefined }),
  DATABASE_URL_FILE: str({ default: undefined }),
  PGHOST: str({ default: undefined }),
  PGPORT: portList({ default: undefined }),
  PGUSER: str({ default: undefined }),
  PGPASSWORD: secretText({ default: undefined }),
  PGDATABASE: str({ default: undefined }),
  PGSSLMODE: str({
    default: undefined,
    choices: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
  }),
  PGSSLROOTCERT: str({ default: undefined }),
  PGSSLCERT: str({ default: undefined }),
  PGSSLKEY: str({ default: undefined }),
  XYN_MIGRATIONS_DIR: str({ default: './migrations' }),
  XYN_REQUIRED_MIGRATIONS: requiredList({ default: { kind: 'all' } }),
  XYN_WAIT_TIMEOUT: timerSeconds({ default: 60_000 }),
  XYN_LOCK_TIMEOUT: timerSeconds({ default: 300_000 }),
  XYN_DDL_LOCK_TIMEOUT: settingSeconds({ default: 5_000 }),
  XYN_DDL_RETRIES: count({ default: 5 }),
  XYN_STATEMENT_TIMEOUT: settingSeconds({ default: 0 }),
  XYN_MAX_BLOCKING: timerSeconds({ default: 5_000 }),
  XYN_RECORD_RUNS: str({ default: 'auto', choices: ['auto', 'off'] }),
  XYN_LEDGER_SCHEMA: identifier({ default: 'public' }),
  XYN_LEDGER_TABLE: identifier({ default: 'schema_migrations' }),
  XYN_ALLOW_DRIFT: flag({ default: false }),
  XYN_ALLOW_OUT_OF_ORDER: flag({ default: false }),
  XYN_ALLOW_MISSING_FILES: flag({ default: false }),
  XYN_PHASE: str({ default: 'pre', choices: ['pre', 'post'] }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  XYN_LOG_FORMAT: str({ default: 'auto', choices: ['auto', 'json', 'pretty'] }),
  XYN_TERMINATION_LOG: str({ default: undefined }),
  XYN_APPLIED_BY: str({ default: undefined }),
  XYN_REHEARSE_URL: secretUrl({ default: undefined }),
  XYN_TARGETS_FILE: str({ default: undefined }),
  XYN_TARGETS_QUERY: str({ default: undefined }),
  XYN_CONCURRENCY: positive({ default: 4 }),
  XYN_SHARD: shard({ default: undefined }),
  XYN_SHARDS: positive({ default: undefined }),
  JOB_COMPLETION_INDEX: count({ default: undefined }),
  XYN_CANARY: count({ default: 0 }),
} as const;

const flagOf = (variable: string): string | undefined => Object.entries(flagVariables).find(([, v]) => v === variable)?.[0];

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

/**
 * Validates the environment (with flags folded in) and resolves the database target.
 * `process.env` and the real stderr are the defaults; tests pass their own.
 */
export function loadConfig(
  flags: Partial<Record<Flag, string | undefined>> = {},
  env: Environment = process.env,
  terminal: { readonly stderr: boolean } = { stderr: isatty(2) },
): Config {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(flags)) {
    if (value !== undefined) merged[flagVariables[name as Flag]] = value;
  }
  const e = cleanEnv(merged, specs, { reporter: throwingReporter });
  const tls = tlsDefaults(e);
  return Object.freeze({
    database: resolveDatabase(e, tls),
    tlsDefaults: tls,
    migrationsDir: e.XYN_MIGRATIONS_DIR,
    required: e.XYN_REQUIRED_MIGRATIONS,
    waitTimeoutMs: e.XYN_WAIT_TIMEOUT,
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
}

function tlsDefaults(e: DatabaseVariables): TlsDefaults {
  return Object.freeze({ sslmode: e.PGSSLMODE, sslrootcert: e.PGSSLROOTCERT, sslcert: e.PGSSLCERT, sslkey: e.PGSSLKEY });
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

function readUrlFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `Invalid configuration: DATABASE_URL_FILE ${path} cannot be read (${code}); mount the secret there or fix the path.`,
      {
        variables: ['DATABASE_URL_FILE'],
      },
    );
  }
}

/** Kubernetes creates /dev/termination-log; we write there only when it already exists. */
function defaultTerminationLog(): string | undefined {
  try {
    accessSync('/dev/termination-log', constants.W_OK);
    return '/dev/termination-log';
  } catch {
    return undefined;
  }
}

/**
 * What the CLI needs before (or without) a valid configuration: where the failure reason goes,
 * and the secrets that must never be printed, registered before anything can fail.
 */
export function earlyEnvironment(env: Environment = process.env): { terminationLog: string | undefined } {
  registerSecret(env.PGPASSWORD);
  for (const name of ['DATABASE_URL', 'XYN_REHEARSE_URL']) registerUrlPassword(env[name]);
  if (env.DATABASE_URL_FILE) {
    try {
      registerUrlPassword(readFileSync(env.DATABASE_URL_FILE, 'utf8').trim());
    } catch {
      // reported by loadConfig
    }
  }
  return { terminationLog: env.XYN_TERMINATION_LOG || defaultTerminationLog() };
}

function registerUrlPassword(url: string | undefined): void {
  if (!url) return;
  // Both readings of a password that holds an unencoded '@': up to the first '@' and the last.
  for (const pattern of [/^[a-z]+:\/\/[^:/?#@]*:([^@]*)@/i, /^[a-z]+:\/\/[^:/?#@]*:(.*)@[^@]*$/i]) {
    const password = pattern.exec(url)?.[1];
    registerSecret(password);
    try {
      if (password) registerSecret(decodeURIComponent(password));
    } catch {
      // not percent-encoded
    }
  }
}
