/**
 * What makes a file a migration, shared by the runner (discover.ts) and lint (lint/sources.ts):
 * the name and its number, the order, the folder listing, the text encoding and the
 * `-- xyn:no-transaction` and `-- xyn:post-deploy` directives. One rule, one place.
 */
import { readdirSync, type Dirent } from 'node:fs';
import { ConfigError } from '../errors.js';
import { leadingCommentsEnd } from './sql.js';

export type MigrationMode = 'transaction' | 'no-transaction';

/** An id (the file name without `.sql`): three or more digits, `_`, a name. */
const MIGRATION_ID = /^(\d{3,})_[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The number of a migration id or file name, or undefined when it is not one. */
export function migrationNumber(idOrFileName: string): bigint | undefined {
  const id = idOrFileName.toLowerCase().endsWith('.sql') ? idOrFileName.slice(0, -'.sql'.length) : idOrFileName;
  const digits = MIGRATION_ID.exec(id)?.[1];
  return digits === undefined ? undefined : BigInt(digits);
}

export const isMigrationId = (id: string): boolean => MIGRATION_ID.test(id);

/** How a misnamed file is told off, by the runner and by lint alike. */
export const NAMING_RULE = 'names are NNN_name.sql with a number of three or more digits (e.g. 006_add_run_labels.sql)';

/** Migration order: by number (names without one last), then by name. */
export function inMigrationOrder(a: string, b: string): number {
  const [na, nb] = [migrationNumber(a), migrationNumber(b)];
  if (na !== nb) {
    if (na === undefined) return 1;
    if (nb === undefined) return -1;
    return na < nb ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The `.sql` entries of the folder: files and links (a Kubernetes ConfigMap volume is all links);
 * folders are not migrations. No stat per file: the every-pod-start run lists and reads, no more.
 */
export function listSqlFiles(folder: string, given: string, options: { allowEmpty: boolean }): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `Migrations folder ${given} cannot be read (${code}); set XYN_MIGRATIONS_DIR (--migrations-dir) or mount the folder there.`,
      {
        variable: 'XYN_MIGRATIONS_DIR',
      },
    );
  }
  const names = entries.filter((e) => !e.isDirectory() && e.name.toLowerCase().endsWith('.sql')).map((e) => e.name);
  if (names.length === 0 && !options.allowEmpty) {
    throw new ConfigError(
      `Migrations folder ${given} holds no .sql files; set XYN_MIGRATIONS_DIR (--migrations-dir) or mount the migrations there.`,
      {
        variable: 'XYN_MIGRATIONS_DIR',
      },
    );
  }
  return names.sort(inMigrationOrder);
}

/** A file's text: strict UTF-8, without a byte-order mark; undefined when it is not UTF-8. */
export function decodeMigrationText(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
}

/** A line comment `-- xyn:no-transaction` before the first statement. */
const NO_TRANSACTION = /^[ \t]*--[ \t]*xyn:no-transaction\b/m;

export function migrationMode(text: string, firstStatement: number = leadingCommentsEnd(text)): MigrationMode {
  return NO_TRANSACTION.test(text.slice(0, firstStatement)) ? 'no-transaction' : 'transaction';
}

/**
 * A line comment `-- xyn:post-deploy` before the first statement: the file changes what the
 * release still running during a rolling update uses (drops, renames, type changes), so it waits
 * for the rollout to end (`--phase post`).
 */
const POST_DEPLOY = /^[ \t]*--[ \t]*xyn:post-deploy\b/m;

export function isPostDeploy(text: string, firstStatement: number = leadingCommentsEnd(text)): boolean {
  return POST_DEPLOY.test(text.slice(0, firstStatement));
}
