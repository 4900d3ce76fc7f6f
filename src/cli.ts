/**
 * argv → command; errors → exit codes. The only place that calls process.exit, installs the
 * signal handlers, and writes the one-sentence failure reason to the termination log.
 */
import { writeFileSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { editDistance, parseArgv, type FlagSpec } from './argv.js';
import { loadConfig, unknownVariableWarnings, type Config, type FleetConfig } from './config.js';
import { earlyEnvironment } from './config/url-secrets.js';
import { COMMAND_NAMES, flagRows, type CommandName } from './config/variables.js';
import { commandHelp, programHelp, type CommandHelp } from './help.js';
import { ExitCode, ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { bigintAsText, describeFailure, failureJson, type Failure } from './failure.js';
import { printable } from './printable.js';
import { registerSecret, scrub } from './secrets.js';
import { Stop, type StopSignal } from './stop.js';
import { version } from './version.js';
import { noProgress, terminalProgress } from './progress.js';
import type { CommandContext } from './commands/context.js';
import { migrate } from './commands/migrate.js';
import { status } from './commands/status.js';
import { plan } from './commands/plan.js';
import { verify } from './commands/verify.js';
import { newMigration } from './commands/new.js';
import { baseline } from './commands/baseline.js';
import { rehearse } from './commands/rehearse.js';
import { lint } from './commands/lint.js';
import { awaitMigrations } from './commands/await.js';
import { repair } from './commands/repair.js';
import { migrateFleet, statusFleet, verifyFleet } from './fleet/commands.js';

interface Invocation {
  readonly json: boolean;
  /** the command's own arguments (e.g. the name for `new`) */
  readonly args: readonly string[];
  /** the values of the flags only this command takes (CommandHelp.flags), as given */
  readonly own: Readonly<Record<string, string | boolean | undefined>>;
}

interface Command extends CommandHelp {
  readonly run: (ctx: CommandContext, invocation: Invocation) => Promise<unknown>;
  /** with XYN_TARGETS_FILE / XYN_TARGETS_QUERY: every target; `false`: a database command that has no fleet form */
  readonly fleet?: ((ctx: CommandContext, fleet: FleetConfig, json: boolean) => Promise<unknown>) | false;
}

const commands: Record<CommandName, Command> = {
  migrate: {
    usage: 'migrate [--json]',
    summary: 'wait for PostgreSQL, take the lock, apply pending migrations, verify, print the ledger (each target of a fleet)',
    json: 'print {"applied": [{"id", "duration_ms", "attempts"}], "ledger": [rows]} on stdout instead of the ledger table (a fleet: its result document)',
    run: (ctx, i) => migrate(ctx, i.json),
    fleet: migrateFleet,
  },
  status: {
    usage: 'status [--json]',
    summary: 'every file and ledger row: applied, pending, drifted, missing file, out of order (read-only)',
    json: 'print the status document on stdout instead of the table',
    run: (ctx, i) => status(ctx, i.json),
    fleet: statusFleet,
  },
  plan: {
    usage: 'plan [--json]',
    summary: "what migrate would apply now, in order, with each file's mode (read-only)",
    json: 'print {"to_apply", "refusals", "warnings"} on stdout instead of the table',
    run: (ctx, i) => plan(ctx, i.json),
    fleet: false,
  },
  verify: {
    usage: 'verify [--json]',
    summary: 'fail fast on boot: required migrations applied, no drift, no unknown ids; exit 0 or 5',
    json: 'print {"verified": true, "allowed", "ahead"} on stdout once verified (a fleet: its result document)',
    run: (ctx, i) => verify(ctx, i.json),
    fleet: verifyFleet,
  },
  await: {
    usage: 'await',
    summary:
      "the app pods' gate when a Job migrates: wait (XYN_WAIT_TIMEOUT) until every pre-deploy file is applied with its checksum; read-only; exit 0 or 5",
    run: (ctx) => awaitMigrations(ctx),
    fleet: false,
  },
  new: {
    usage: 'new <name>',
    summary: 'write the next-numbered migration file from the template',
    run: (ctx, i) => Promise.resolve(newMigration(ctx, i.args)),
  },
  lint: {
    usage: 'lint [--json]',
    summary:
      'check the migration files without a database: naming, guards, transaction control, psql meta-commands, statements that block live traffic or break the release still running (breaking-change: mark the file -- xyn:post-deploy); exit 0 clean, 1 findings',
    json: 'print the findings as one JSON document on stdout',
    run: (ctx, i) => lint(ctx, i.json, i.args),
  },
  rehearse: {
    usage: 'rehearse',
    summary: 'apply every migration twice on a scratch database; fail naming a file that is not idempotent',
    run: (ctx) => rehearse(ctx),
    fleet: false,
  },
  baseline: {
    usage: 'baseline <id>',
    summary: 'record every migration up to <id> as applied without running it (ledger only)',
    run: (ctx, i) => baseline(ctx, i.args),
    fleet: false,
  },
  repair: {
    usage: 'repair --remove <id> --reason "<why>" --yes [--json]',
    summary:
      'remove a ledger row applied by mistake (and its partial-run record), under the lock, recording who and why; the schema is untouched; without --yes it only says what it would do (exit 2)',
    json: 'print what was removed, the reason, who and the run recorded as one JSON document on stdout',
    flags: {
      remove: { type: 'string', unit: 'id', description: 'the ledger id to remove (e.g. 004_add_tags)' },
      reason: { type: 'string', unit: 'text', description: 'why: recorded in the run history and the log (required)' },
      yes: { type: 'boolean', description: 'the confirmation: without it repair only says what it would do' },
    },
    run: (ctx, i) =>
      repair(
        ctx,
        { remove: i.own.remove as string | undefined, reason: i.own.reason as string | undefined, yes: i.own.yes === true },
        i.json,
      ),
    fleet: false,
  },
};

/** The command on one database, or on every target of the fleet; a database command without a fleet form refuses targets. */
function runCommand(name: string, ctx: CommandContext, invocation: Invocation): Promise<unknown> {
  const command = commands[name as CommandName];
  const fleet = ctx.config.fleet;
  if (fleet === undefined || command.fleet === undefined) return command.run(ctx, invocation);
  if (command.fleet === false) {
    const variable = fleet.source.kind === 'file' ? 'XYN_TARGETS_FILE' : 'XYN_TARGETS_QUERY';
    throw new ConfigError(
      `Invalid configuration: ${name} works on one database, but ${variable} names a fleet of targets (for migrate, status and verify); unset ${variable} to ${name} DATABASE_URL's database.`,
      { variables: [variable] },
    );
  }
  return command.fleet(ctx, fleet, invocation.json);
}

const print = (text: string) => void writeSync(1, scrub(text));

/** `xyn-migrate --help`, `help <command>`, `<command> --help`. */
function helpFor(name: string | undefined): string {
  if (name === undefined || !isCommand(name)) return programHelp(commands);
  return commandHelp(name, commands[name]);
}

const isCommand = (name: string): name is CommandName => (COMMAND_NAMES as readonly string[]).includes(name);

/** Every flag: those standing for a variable (taken by the commands that read it), then --help, --version and --json. */
const flagSpecs: Record<string, FlagSpec> = {
  ...Object.fromEntries(
    flagRows.map(([flag, variable, row]) => [flag, { type: row.switch ? 'boolean' : 'string', variable, commands: row.commands }] as const),
  ),
  ...Object.fromEntries(
    Object.entries(commands).flatMap(([name, command]) =>
      Object.entries(command.flags ?? {}).map(([flag, f]) => [flag, { type: f.type, commands: [name] }] as const),
    ),
  ),
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
};

/** "Unknown command "statuss"; did you mean status? The commands are …" */
function unknownCommand(name: string): ConfigError {
  const [closest] = [...COMMAND_NAMES].sort((a, b) => editDistance(name, a) - editDistance(name, b));
  const guess = closest !== undefined && editDistance(name, closest) <= 2 ? `; did you mean ${closest}?` : '.';
  return new ConfigError(`Unknown command "${name}"${guess} The commands are ${COMMAND_NAMES.join(', ')}. See xyn-migrate --help.`);
}

function parseCommandLine(argv: readonly string[]): { command: string; flags: Record<string, string>; invocation: Invocation } {
  const { values, positionals } = parseArgv(
    argv,
    flagSpecs,
    (first) => (first === undefined ? 'migrate' : isCommand(first) || first === 'help' ? first : undefined),
    unknownCommand,
  );
  const name = positionals[0] ?? 'migrate';
  const ownFlags = isCommand(name) ? Object.keys(commands[name].flags ?? {}) : [];
  const own = Object.fromEntries(ownFlags.map((flag) => [flag, values[flag]]));
  const invocation: Invocation = { json: values.json === true, args: positionals.slice(1), own };
  if (name === 'help') {
    const [topic] = invocation.args;
    if (topic !== undefined && !isCommand(topic)) {
      throw unknownCommand(topic);
    }
    return { command: 'help', flags: {}, invocation: { ...invocation, json: false } };
  }
  if (values.help) return { command: 'help', flags: {}, invocation: { ...invocation, json: false, args: positionals } };
  if (values.version) return { command: 'version', flags: {}, invocation };
  const flags: Record<string, string> = {};
  for (const [flag] of flagRows) {
    const value = values[flag];
    if (value !== undefined) flags[flag] = value === true ? 'true' : String(value);
  }
  return { command: name, flags, invocation };
}

export async function main(argv: readonly string[]): Promise<number> {
  const early = earlyEnvironment();
  const stop = new Stop();
  installSignalHandlers(stop);
  // Made once the configuration says how; a failure before that logs with the defaults.
  let log: Logger | undefined;
  let config: Config | undefined;
  // Asked for in argv even when argv itself cannot be parsed; a document the command printed
  // (status, plan, lint) stays the only one on stdout.
  const json = jsonRequested(argv);
  let printedResult = false;
  const printResult = (text: string) => ((printedResult = true), print(text));
  try {
    const { command, flags, invocation } = parseCommandLine(argv);
    if (command === 'help') return (print(helpFor(invocation.args[0])), ExitCode.ok);
    if (command === 'version') return (print(`${version}\n`), ExitCode.ok);
    config = loadConfig(flags, undefined, undefined, command);
    registerSecret(config.database?.password);
    log = createLogger(config.logLevel, config.logFormat);
    for (const warning of unknownVariableWarnings()) log.warn(warning);
    // isatty, not process.stderr.isTTY: that getter builds a stream object we never write through.
    const stderrIsTerminal = isatty(2);
    const ctx: CommandContext = {
      config,
      log,
      stop,
      print: printResult,
      stdoutIsTerminal: isatty(1),
      progressLine: stderrIsTerminal ? (text) => void writeSync(2, scrub(`\r\x1b[2K${text}`)) : () => undefined,
      progress: () =>
        stderrIsTerminal ? terminalProgress((text) => void writeSync(2, scrub(text)), process.stderr.columns ?? 80) : noProgress,
    };
    await runCommand(command, ctx, invocation);
    return ExitCode.ok;
  } catch (error) {
    const failure = fail(error, log ?? startupReporter(argv, early.logFormat), config?.terminationLog ?? early.terminationLog);
    if (json && !printedResult) print(`${errorDocument(failure)}\n`);
    return failure.exitCode;
  }
}

/** `--json` among the flags (before any `--`, after which words are arguments). */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * `{"error": {"exit_code", "message", …the error's fields in snake_case}}`: the one JSON document
 * of a failed --json command. It is printed through `scrub`, like every byte of output.
 */
function errorDocument(failure: Failure): string {
  const error = { exit_code: failure.exitCode, ...failureJson(failure) };
  return JSON.stringify({ error }, bigintAsText, 2);
}

/** The last log line says why in one sentence; the same sentence goes to the termination log. */
function fail(error: unknown, log: Logger | 'sentence', terminationLog: string | undefined): Failure {
  const { exitCode, sentence, fields } = describeFailure(error);
  if (log === 'sentence') writeSync(2, scrub(`xyn-migrate: ${sentence}\n`));
  else log.error({ ...fields, exitCode }, sentence);
  if (terminationLog) {
    try {
      writeFileSync(terminationLog, printable(scrub(sentence)) + '\n');
    } catch {
      // the termination log is a courtesy; the exit code and the log line already say it
    }
  }
  return { exitCode, sentence: scrub(sentence), fields };
}

/**
 * Who hears of a failure before the configuration says how to log (an unknown flag or command, a
 * bad value): a person at a terminal, or one who asked for pretty logs, reads a plain sentence; a
 * log collector (or XYN_LOG_FORMAT=json) gets the JSON line as always.
 */
function startupReporter(argv: readonly string[], fromEnvironment: string | undefined): Logger | 'sentence' {
  const flagAt = argv.findIndex((arg) => arg === '--log-format' || arg.startsWith('--log-format='));
  const asked = flagAt < 0 ? fromEnvironment : (argv[flagAt]!.split('=')[1] ?? argv[flagAt + 1]);
  const format = asked?.trim().toLowerCase();
  if (format === 'pretty' || (format !== 'json' && isatty(2))) return 'sentence';
  return createLogger();
}

const FORCED_EXIT_AFTER_MS = 8000;

/**
 * First signal: stop cooperatively (cancel the running statement, roll back, unlock, close).
 * A second signal, or no progress within a few seconds, exits at once.
 */
function installSignalHandlers(stop: Stop): void {
  const onSignal = (signal: StopSignal) => {
    const code = signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
    if (stop.stopped) process.exit(code);
    stop.trigger(signal);
    setTimeout(() => process.exit(code), FORCED_EXIT_AFTER_MS).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    writeSync(2, scrub(`xyn-migrate: ${String(error)}\n`));
    process.exit(ExitCode.migrationFailed);
  },
);
