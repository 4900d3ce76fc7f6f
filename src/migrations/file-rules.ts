/**
 * What makes a file a migration, shared by the runner (discover.ts) and lint (lint/sources.ts):
 * the name and its number, the order, the folder listing, the text encoding and the
 * `-- xyn:no-transaction` and `-- xyn:post-deploy` directives. One rule, one place.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { leadingCommentsEnd } from './sql.js';

export type MigrationMode = 'transaction' | 'no-transaction';

/**
 * When a file may run during a rolling update: `pre` (the default) before the new release starts,
 * beside the old one; `post` (`-- xyn:post-deploy`) only after the rollout, when no old pod is left.
 */
export type MigrationPhase = 'pre' | 'post';

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
export const NAMING_RULE =
  'names are NNN_name.sql with a number of three or more digits (e.g. 006_add_run_labels.sql, or a timestamp: 20240101120000_add_tags.sql)';

/** A `.sql` file name read as a migration: its id and number, or the sentence that refuses it. */
export type MigrationName = { readonly id: string; readonly number: bigint } | { readonly refused: string };

/**
 * The one name rule of the runner and of lint. `NNN_name.up.sql` (golang-migrate's forward half)
 * is the migration `NNN_name`, so renaming it to `NNN_name.sql` later keeps its id and ledger row.
 * A down file is refused, never run forward; a subfolder is not read, so down files can live there.
 */
export function readMigrationName(fileName: string): MigrationName {
  if (/\.down\.sql$/i.test(fileName)) {
    return {
      refused: `Migration file ${fileName} is a down (rollback) migration, and xyn-migrate applies forward only: it would never run it as such. Delete it, or move down files to a subfolder (e.g. down/), which is not read`,
    };
  }
  const suffix = fileName.endsWith('.up.sql') ? '.up.sql' : '.sql';
  const id = fileName.endsWith(suffix) ? fileName.slice(0, -suffix.length) : undefined;
  const number = id === undefined ? undefined : migrationNumber(id);
  if (id === undefined || number === undefined) return { refused: `Migration file ${fileName} is misnamed: ${NAMING_RULE}` };
  return { id, number };
}

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
 * The `.sql` entries of the folder: regular files and links to them (a Kubernetes ConfigMap volume
 * is all links). Anything else named like a migration (a folder, a FIFO, a device, a socket) is
 * refused here, before anything is opened: a FIFO blocks its reader and a device such as /dev/zero
 * never ends. Only links are stat'ed: a plain file's kind is in the listing already.
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
  const sqlEntries = entries.filter((e) => e.name.toLowerCase().endsWith('.sql'));
  for (const entry of sqlEntries) {
    if (!entry.isFile()) refuseUnlessRegular(entry.name, statOrUndefined(join(folder, entry.name)) ?? entry);
  }
  const names = sqlEntries.map((e) => e.name);
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

/** The kind of a folder entry, for a person. */
function kindOf(entry: Stats | Dirent): string {
  if (entry.isDirectory()) return 'a folder';
  if (entry.isFIFO()) return 'a FIFO (named pipe)';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** A dangling link (or a race) is left to the read, which names its error. */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function refuseUnlessRegular(fileName: string, entry: Stats | Dirent): void {
  if (entry.isFile() || entry.isSymbolicLink()) return;
  throw new ConfigError(
    `Migration file ${fileName} is ${kindOf(entry)}, not a regular file; only regular files (or links to them) are migrations: replace it with the file or remove it.`,
    { file: fileName },
  );
}

/**
 * The largest migration file read, in bytes. A file is read whole, and its bytes, text and
 * statements take about 4.6 times its size in memory (a 100 MB seed file is tested to apply); a
 * bigger one belongs in several files. A constant, not a setting: it bounds what a wrong mount
 * (a database dump, a disk image) costs before anything is sent.
 */
export const MAX_MIGRATION_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A migration file's bytes. Opened non-blocking and checked on the open descriptor, so a file
 * swapped for a FIFO or a device after the listing still cannot block or stream for ever; read
 * no further than the size limit. Throws a ConfigError naming the file for what is not a regular
 * file or is too large; an error of the file system (ENOENT, EACCES) as it comes.
 */
export function readMigrationFile(path: string, fileName: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    refuseUnlessRegular(fileName, stats);
    const tooLarge = () =>
      new ConfigError(
        `Migration file ${fileName} is larger than ${MAX_MIGRATION_FILE_BYTES / 1024 / 1024} MiB, the most a migration file may hold; split it into several migrations.`,
        { file: fileName },
      );
    if (stats.size > MAX_MIGRATION_FILE_BYTES) throw tooLarge();
    // One byte more than its size, so that the end is seen in one read; a file that grows while
    // read is read on, up to the limit.
    let buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > MAX_MIGRATION_FILE_BYTES) throw tooLarge();
        const grown = Buffer.allocUnsafe(Math.min(length * 2, MAX_MIGRATION_FILE_BYTES + 1));
        buffer.copy(grown);
        buffer = grown;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A file's text: strict UTF-8, without its byte-order mark (the decoder removes exactly one, as
 * the runner strips exactly one from the bytes it sends); undefined when it is not UTF-8.
 */
export function decodeMigrationText(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A line comment `-- xyn:no-transaction` before the first statement. */
const NO_TRANSACTION = /^[ \t]*--[ \t]*xyn:no-transaction(?=[ \t:]|$)/m;

export function migrationMode(text: string, firstStatement: number = leadingCommentsEnd(text)): MigrationMode {
  return NO_TRANSACTION.test(text.slice(0, firstStatement)) ? 'no-transaction' : 'transaction';
}

/** A line comment `-- xyn:post-deploy` before the first statement. */
const POST_DEPLOY = /^[ \t]*--[ \t]*xyn:post-deploy(?=[ \t:]|$)/m;

/**
 * `post` for a file whose leading comments hold `-- xyn:post-deploy`: a change the release still
 * running during a rolling update cannot live with (a dropped or renamed column or table, a changed
 * type), applied only by `--phase post`, after the rollout. Lint's rules use the same recogniser.
 */
export function migrationPhase(text: string, firstStatement: number = leadingCommentsEnd(text)): MigrationPhase {
  return POST_DEPLOY.test(text.slice(0, firstStatement)) ? 'post' : 'pre';
}
