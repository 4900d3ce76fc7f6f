/**
 * The configuration table: every variable the program reads, with its flag, value type, unit,
 * default, what it does and which commands read it. Loading (config.ts), each command's --help,
 * the program's --help and the variable table of docs/configuration.md are all made from these rows, so adding a
 * variable is adding a row.
 */
import { str } from 'envalid';
import { SSL_MODES } from '../target.js';
import {
  count,
  identifier,
  onOff,
  portList,
  positive,
  requiredList,
  secretText,
  secretUrl,
  settingSeconds,
  shard,
  timerSeconds,
} from './validators.js';
import { AUTH_MODES } from '../auth/token.js';

export const COMMAND_NAMES = ['migrate', 'status', 'plan', 'verify', 'await', 'new', 'baseline', 'lint', 'rehearse', 'repair'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

const ALL = COMMAND_NAMES;
/** the commands that connect to a database */
const DATABASE: readonly CommandName[] = ['migrate', 'status', 'plan', 'verify', 'await', 'baseline', 'rehearse', 'repair'];
/** the commands that judge the history of the ledger */
const HISTORY: readonly CommandName[] = ['migrate', 'status', 'plan', 'verify'];
/** the commands that plan by phase (pre- or post-deploy files) */
const PHASED: readonly CommandName[] = ['migrate', 'status', 'plan', 'verify', 'await'];
/** the commands that run migration files */
const APPLYING: readonly CommandName[] = ['migrate', 'rehearse'];
/** the commands with a fleet form */
const FLEET: readonly CommandName[] = ['migrate', 'status', 'verify'];

export interface VariableRow<Spec> {
  /** envalid's spec: the value type, its choices and the default as the program holds it */
  readonly spec: Spec;
  /** the default as a person writes it (docs/configuration.md, --help); a unit test checks it parses to spec's default */
  readonly shownDefault: string;
  /** the command-line flag standing for the variable (without --); flags win over the environment */
  readonly flag?: string;
  /** a flag that takes no value: `--allow-drift` alone means true */
  readonly switch?: true;
  /** what the value is counted in or looks like, for --help (`seconds`, `path`, …) */
  readonly unit?: string;
  /** one line: what it does */
  readonly description: string;
  /** more for docs/configuration.md only */
  readonly details?: string;
  readonly commands: readonly CommandName[];
}

const row = <Spec>(r: VariableRow<Spec>): VariableRow<Spec> => r;

export const variables = {
  DATABASE_URL: row({
    spec: secretUrl({ default: undefined }),
    shownDefault: '—',
    unit: 'URL',
    description: 'the database: postgres://user:pass@host:port/db?sslmode=…',
    details:
      "Several hosts (`postgres://h1:5432,h2:5432/db`) are tried in order, as libpq does. `sslmode`: `disable`, `allow`, `prefer` (**default**: TLS when the server offers it), `require`, `verify-ca`, `verify-full`, with libpq's meaning; `sslrootcert` (a CA file, or `system`), and a client certificate with `sslcert` + `sslkey`. A user name or password with reserved characters must be percent-encoded (`@` → `%40`, `/` → `%2F`, `?` → `%3F`, `#` → `%23`, `:` → `%3A`, `%` → `%25`; `encodeURIComponent` does it): an unencoded `/`, `?`, `#` or stray `%` there is exit 2 saying so, naming the variable (also for `DATABASE_URL_FILE` and `XYN_REHEARSE_URL`), never the value",
    commands: DATABASE,
  }),
  DATABASE_URL_FILE: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    unit: 'path',
    description: 'a file holding the URL (a mounted Kubernetes or Docker secret); not together with DATABASE_URL',
    commands: DATABASE,
  }),
  PGHOST: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    description: "libpq's host (h1,h2 for several), used when neither DATABASE_URL nor DATABASE_URL_FILE is set",
    commands: DATABASE,
  }),
  PGPORT: row({
    spec: portList({ default: undefined }),
    shownDefault: '5432',
    description: "libpq's port, one for all hosts or one per PGHOST entry",
    commands: DATABASE,
  }),
  PGUSER: row({ spec: str({ default: undefined }), shownDefault: '—', description: "libpq's user name", commands: DATABASE }),
  PGPASSWORD: row({ spec: secretText({ default: undefined }), shownDefault: '—', description: "libpq's password", commands: DATABASE }),
  PGDATABASE: row({
    spec: str({ default: undefined }),
    shownDefault: 'the user name',
    description: "libpq's database name; as in libpq, none means the database named like the user",
    details: 'every message names the database actually used',
    commands: DATABASE,
  }),
  PGSSLMODE: row({
    spec: str({ default: undefined, choices: [...SSL_MODES] }),
    shownDefault: 'prefer',
    unit: 'mode',
    description: `libpq's TLS mode (${SSL_MODES.join(', ')}), for a URL that does not say (the URL's own parameters win)`,
    commands: DATABASE,
  }),
  PGSSLROOTCERT: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    unit: 'path',
    description: 'the CA file that verifies the server (or `system`)',
    commands: DATABASE,
  }),
  PGSSLCERT: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    unit: 'path',
    description: 'a client certificate',
    commands: DATABASE,
  }),
  PGSSLKEY: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    unit: 'path',
    description: "the client certificate's key",
    commands: DATABASE,
  }),
  XYN_AUTH: row({
    spec: str({ default: 'password', choices: AUTH_MODES }),
    shownDefault: 'password',
    flag: 'auth',
    unit: 'mode',
    description: `how connections log in: ${AUTH_MODES.join(', ')}; a token mode's password is a short-lived token from the cloud identity`,
    details:
      "`password`: the URL's or `PGPASSWORD`. `aws-iam` (RDS/Aurora IAM), `gcp-iam` (Cloud SQL IAM users), `azure-entra` (Azure Database for PostgreSQL with Entra ID): a token obtained for each new connection from the pod's cloud identity is the password. A token mode needs a user and no password in the URL, and `sslmode=verify-full` (its default); see [Cloud identity](kubernetes.md#cloud-identity-a-token-instead-of-a-password-xyn_auth)",
    commands: DATABASE,
  }),
  XYN_MIGRATIONS_DIR: row({
    spec: str({ default: './migrations' }),
    shownDefault: './migrations',
    flag: 'migrations-dir',
    unit: 'path',
    description: 'the folder of NNN_name.sql files',
    details: '`/migrations` in the image',
    commands: ALL,
  }),
  XYN_REQUIRED_MIGRATIONS: row({
    spec: requiredList({ default: { kind: 'all' } }),
    shownDefault: 'all',
    flag: 'required',
    unit: 'ids',
    description: 'comma list of ids that must be applied; `all` = every file present',
    commands: ['migrate', 'status', 'verify'],
  }),
  XYN_WAIT_TIMEOUT: row({
    spec: timerSeconds({ default: 60_000 }),
    shownDefault: '60',
    flag: 'wait-timeout',
    unit: 'seconds',
    description:
      'how long to wait for PostgreSQL to accept connections (and be writable, for migrate); status, plan and verify run at a terminal wait 10 s unless it is set',
    commands: DATABASE,
  }),
  XYN_LOCK_TIMEOUT: row({
    spec: timerSeconds({ default: 300_000 }),
    shownDefault: '300',
    flag: 'lock-timeout',
    unit: 'seconds',
    description: 'how long to wait for the migration lock held by another runner',
    commands: ['migrate', 'baseline', 'repair'],
  }),
  XYN_DDL_LOCK_TIMEOUT: row({
    spec: settingSeconds({ default: 5_000 }),
    shownDefault: '5',
    flag: 'ddl-lock-timeout',
    unit: 'seconds',
    description: 'how long a migration statement may wait for a table lock before that attempt gives up (lock_timeout)',
    details: "at most 2147483.647, PostgreSQL's limit",
    commands: APPLYING,
  }),
  XYN_DDL_RETRIES: row({
    spec: count({ default: 5 }),
    shownDefault: '5',
    flag: 'ddl-retries',
    unit: 'count',
    description: 'further attempts of a migration that gave up on a lock, with backoff',
    commands: APPLYING,
  }),
  XYN_STATEMENT_TIMEOUT: row({
    spec: settingSeconds({ default: 0 }),
    shownDefault: '0',
    flag: 'statement-timeout',
    unit: 'seconds',
    description: 'how long one migration statement may run; 0 = no limit',
    details: "at most 2147483.647, PostgreSQL's limit",
    commands: APPLYING,
  }),
  XYN_MAX_BLOCKING: row({
    spec: timerSeconds({ default: 5_000 }),
    shownDefault: '5',
    flag: 'max-blocking',
    unit: 'seconds',
    description:
      'how long another session may wait on a lock held by a running migration; past it the statement is cancelled and the file rolled back (exit 1); 0 = off',
    details: 'See "Others waiting on a migration\'s locks"',
    commands: APPLYING,
  }),
  XYN_RECORD_RUNS: row({
    spec: str({ default: 'auto', choices: ['auto', 'off'] }),
    shownDefault: 'auto',
    flag: 'record-runs',
    unit: 'auto|off',
    description: "record applying runs (and repairs) in the engine's runs/steps tables when they exist (auto), or not (off)",
    commands: ['migrate', 'repair'],
  }),
  XYN_LEDGER_SCHEMA: row({
    spec: identifier({ default: 'public' }),
    shownDefault: 'public',
    flag: 'ledger-schema',
    unit: 'identifier',
    description: 'the schema of the ledger table',
    details: "`new` writes it into a file's ledger insert, `lint` flags a file recording itself anywhere else",
    commands: ALL,
  }),
  XYN_LEDGER_TABLE: row({
    spec: identifier({ default: 'schema_migrations' }),
    shownDefault: 'schema_migrations',
    flag: 'ledger-table',
    unit: 'identifier',
    description: 'the name of the ledger table',
    commands: ALL,
  }),
  XYN_ALLOW_DRIFT: row({
    spec: onOff({ default: false }),
    shownDefault: 'false',
    flag: 'allow-drift',
    switch: true,
    description: 'emergency override: accept applied files whose checksum changed (logged at warn)',
    commands: HISTORY,
  }),
  XYN_ALLOW_OUT_OF_ORDER: row({
    spec: onOff({ default: false }),
    shownDefault: 'false',
    flag: 'allow-out-of-order',
    switch: true,
    description: 'emergency override: apply pending files numbered below an applied one (logged at warn)',
    commands: HISTORY,
  }),
  XYN_ALLOW_MISSING_FILES: row({
    spec: onOff({ default: false }),
    shownDefault: 'false',
    flag: 'allow-missing-files',
    switch: true,
    description: 'emergency override: accept applied ids that have no file (logged at warn)',
    commands: HISTORY,
  }),
  XYN_PHASE: row({
    spec: str({ default: 'pre', choices: ['pre', 'post'] }),
    shownDefault: 'pre',
    flag: 'phase',
    unit: 'pre|post',
    description:
      'pre: apply every pending file except -- xyn:post-deploy ones (before the rollout); post: apply everything pending (a Job after the rollout)',
    details: 'See [Rolling updates: pre and post phase](kubernetes.md#rolling-updates-pre-and-post-phase)',
    commands: PHASED,
  }),
  LOG_LEVEL: row({
    spec: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
    shownDefault: 'info',
    flag: 'log-level',
    unit: 'level',
    description: 'the lowest level logged: fatal, error, warn, info, debug, trace or silent',
    commands: ALL,
  }),
  XYN_LOG_FORMAT: row({
    spec: str({ default: 'auto', choices: ['auto', 'json', 'pretty'] }),
    shownDefault: 'auto',
    flag: 'log-format',
    unit: 'format',
    description: 'log lines as json or readable text (pretty); auto = pretty when stderr is a terminal, JSON otherwise',
    commands: ALL,
  }),
  XYN_TERMINATION_LOG: row({
    spec: str({ default: undefined }),
    shownDefault: '/dev/termination-log where it exists',
    unit: 'path',
    description: 'where the one-sentence failure reason is written',
    commands: ALL,
  }),
  XYN_APPLIED_BY: row({
    spec: str({ default: undefined }),
    shownDefault: 'xyn-migrate on $HOSTNAME',
    flag: 'applied-by',
    unit: 'text',
    description: "written to the ledger's applied_by column (repair: recorded as who removed the row)",
    commands: ['migrate', 'baseline', 'repair'],
  }),
  XYN_REHEARSE_URL: row({
    spec: secretUrl({ default: undefined }),
    shownDefault: '—',
    unit: 'URL',
    description: 'an empty database for rehearse instead of a scratch one (not empty: exit 3, saying what is in it)',
    commands: ['rehearse'],
  }),
  XYN_TARGETS_FILE: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    flag: 'targets-file',
    unit: 'path',
    description: 'a fleet: one target a line (DATABASE or a postgres:// URL, optionally followed by a SCHEMA)',
    commands: FLEET,
  }),
  XYN_TARGETS_QUERY: row({
    spec: str({ default: undefined }),
    shownDefault: '—',
    flag: 'targets-query',
    unit: 'SQL',
    description: 'a fleet: SQL on DATABASE_URL returning a column database or url, and optionally schema',
    commands: FLEET,
  }),
  XYN_CONCURRENCY: row({
    spec: positive({ default: 4 }),
    shownDefault: '4',
    flag: 'concurrency',
    unit: 'count',
    description:
      'a fleet: targets in progress at once: that many connections, plus one blocking watchdog (XYN_MAX_BLOCKING) per target whose file runs long, so up to twice as many',
    commands: FLEET,
  }),
  XYN_SHARD: row({
    spec: shard({ default: undefined }),
    shownDefault: '—',
    flag: 'shard',
    unit: 'i/n',
    description: 'a fleet: this process takes only its share of the targets (a stable hash mod n = i)',
    commands: FLEET,
  }),
  XYN_SHARDS: row({
    spec: positive({ default: undefined }),
    shownDefault: '—',
    flag: 'shards',
    unit: 'count',
    description: 'a fleet in a Kubernetes Indexed Job: n shards, i taken from JOB_COMPLETION_INDEX',
    commands: FLEET,
  }),
  JOB_COMPLETION_INDEX: row({
    spec: count({ default: undefined }),
    shownDefault: '—',
    description: "set by a Kubernetes Indexed Job: this pod's shard with XYN_SHARDS",
    commands: FLEET,
  }),
  XYN_CANARY: row({
    spec: count({ default: 0 }),
    shownDefault: '0',
    flag: 'canary',
    unit: 'count',
    description: 'a fleet: the first k targets go first; if any of them fails, no other starts',
    commands: ['migrate'],
  }),
} as const;

export type VariableName = keyof typeof variables;

/** envalid's specs, keyed by variable, for cleanEnv. */
export type Specs = { readonly [Name in VariableName]: (typeof variables)[Name]['spec'] };
export const specs = Object.fromEntries(Object.entries(variables).map(([name, r]) => [name, r.spec])) as Specs;

/** Variables read outside this table: the code cache's training run (src/start.ts). */
const READ_ELSEWHERE = ['XYN_CODE_CACHE_OUT'];

export const knownVariables: readonly string[] = [...Object.keys(variables), ...READ_ELSEWHERE];

/** Every row with a flag, as [flag, variable, row]. */
export const flagRows: readonly (readonly [string, VariableName, VariableRow<unknown>])[] = Object.entries(variables).flatMap(
  ([name, r]: [string, VariableRow<unknown>]) => (r.flag === undefined ? [] : [[r.flag, name as VariableName, r] as const]),
);

export function flagOf(variable: string): string | undefined {
  return flagRows.find(([, name]) => name === variable)?.[0];
}
