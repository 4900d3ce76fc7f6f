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
