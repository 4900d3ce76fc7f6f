/**
 * The error family. Each error knows its exit code (the ExitCode table below, the program's whole
 * set of exit codes: a person or a script acts on them) and carries the
 * structured fields a person needs; the CLI prints `message` and pino logs `fields`.
 */
export const ExitCode = {
  ok: 0,
  migrationFailed: 1,
  invalidConfig: 2,
  unreachable: 3,
  lockTimeout: 4,
  verificationFailed: 5,
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stopped by a signal: 128 + its number, as a shell reports it. */
export const exitCodeForSignal = (signal: 'SIGINT' | 'SIGTERM'): ExitCode => (signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);

export abstract class XynError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad environment, flags or migration files: nothing was touched. */
export class ConfigError extends XynError {
  readonly exitCode = ExitCode.invalidConfig;
}

/** PostgreSQL not reachable, not writable, or refusing us. */
export class ConnectError extends XynError {
  readonly exitCode = ExitCode.unreachable;
}

export class LockTimeoutError extends XynError {
  readonly exitCode = ExitCode.lockTimeout;
}

/** A migration failed; it was rolled back (or, without a transaction, is re-runnable). */
export class MigrationError extends XynError {
  readonly exitCode = ExitCode.migrationFailed;
}

/** Required migration missing, drift, unknown applied ids, refused history. */
export class VerificationError extends XynError {
  readonly exitCode = ExitCode.verificationFailed;
}

/** SIGINT/SIGTERM arrived; `consequence` says what actually happened (nothing applied, rolled back, partly applied). */
export class InterruptedError extends XynError {
  readonly exitCode: ExitCode;
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    consequence: string,
    fields: Record<string, unknown> = {},
  ) {
    super(`Stopped by ${signal}: ${consequence}.`, fields);
    this.exitCode = exitCodeForSignal(signal);
  }
}
