/**
 * Any error, as the one sentence, exit code and fields a person is told: for the CLI's last log
 * line, and for each failed target of a fleet.
 */
import { ExitCode, XynError } from './errors.js';
import { serverError } from './db/session.js';

export interface Failure {
  readonly exitCode: number;
  readonly sentence: string;
  readonly fields: Record<string, unknown>;
}

export function describeFailure(error: unknown): Failure {
  if (error instanceof XynError)
    return { exitCode: error.exitCode, sentence: error.message, fields: { ...error.fields, errorKind: error.name } };
  const db = serverError(error);
  if (db) {
    // A statement of ours (not of a migration file) refused: permissions, a broken ledger.
    const hint = db.code === '42501' ? '; the migration role needs to own the schema and the ledger, or be granted privileges on them' : '';
    return {
      exitCode: ExitCode.unreachable,
      sentence: `PostgreSQL refused xyn-migrate's own statement: ${db.message} (SQLSTATE ${db.code})${hint}.`,
      fields: { sqlstate: db.code, detail: db.detail, hint: db.hint },
    };
  }
  return {
    exitCode: ExitCode.migrationFailed,
    sentence: `Unexpected internal error: ${error instanceof Error ? error.message : String(error)}.`,
    fields: { err: error },
  };
}

/**
 * A failure for a JSON document (`--json`): its sentence as `message`, then its fields in
 * snake_case, without an internal error object (that is for the log) or anything called password.
 */
export function failureJson({ sentence, fields }: Failure): Record<string, unknown> {
  const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const shown = Object.entries(fields).filter(([key, value]) => value !== undefined && key !== 'password' && key !== 'err');
  return { message: sentence, ...Object.fromEntries(shown.map(([key, value]) => [snake(key), value])) };
}

/** JSON.stringify's replacer for documents that may carry a failure's fields: a bigint (a lock key) as text. */
export const bigintAsText = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);
