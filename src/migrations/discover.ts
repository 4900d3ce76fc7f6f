/**
 * The runner's reader of the migrations folder: folder → ordered MigrationFile[] (lint reads it
 * leniently, through the same rules in naming.ts). Every naming or content problem that can be found without a database is a ConfigError (exit 2) naming the file
 * and line, before anything connects.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { rawChecksum } from './checksum.js';
import {
  decodeMigrationText,
  listSqlFiles,
  migrationMode,
  migrationPhase,
  readMigrationFile,
  readMigrationName,
  type MigrationMode,
  type MigrationPhase,
} from './naming.js';
import {
  blank,
  copiesFromClient,
  COPY_FROM_CLIENT,
  leadingCommentsEnd,
  lex,
  lineColumn,
  refusedCharacter,
  transactionControlVerdict,
  type Statement,
} from './sql.js';

export type { MigrationMode, MigrationPhase };

export interface MigrationFile {
  /** file name without `.sql` (or `.up.sql`): the ledger id */
  readonly id: string;
  readonly number: bigint;
  readonly fileName: string;
  readonly path: string;
  /** sha256 of the file's bytes, hex (checksum.ts: and of its content, which the ledger keeps too) */
  readonly checksum: string;
  readonly mode: MigrationMode;
  /** `post`: a `-- xyn:post-deploy` file, left pending by the pre phase */
  readonly phase: MigrationPhase;
  /** the file's text as read */
  readonly text: string;
  /**
   * transaction mode: the text with its own top-level BEGIN/COMMIT blanked out (same length and
   * lines, so server error positions still point into the file); no-transaction: the text.
   */
  readonly executable: string;
  /** `executable` as UTF-8: the file's own bytes when nothing was blanked */
  readonly executableBytes: Buffer;
  readonly statements: readonly Statement[];
}

export interface DiscoverOptions {
  /** an empty folder is fine (`new`) */
  readonly allowEmpty?: boolean;
  /** leave each file's content check to its first use (see LoadedMigration) */
  readonly lazy?: boolean;
}

export function discoverMigrations(dir: string, options: DiscoverOptions = {}): MigrationFile[] {
  const folder = resolve(dir);
  const files = listSqlFiles(folder, dir, { allowEmpty: options.allowEmpty ?? false }).map((name) => readMigration(folder, name));
  for (let i = 1; i < files.length; i++) {
    const [previous, current] = [files[i - 1]!, files[i]!];
    if (previous.number === current.number) {
      throw new ConfigError(
        `Migrations ${previous.fileName} and ${current.fileName} share the number ${current.number}; renumber one of them.`,
        {
          files: [previous.fileName, current.fileName],
        },
      );
    }
  }
  if (!options.lazy) files.forEach(checkMigration);
  return files;
}

function readMigration(folder: string, fileName: string): MigrationFile {
  const name = readMigrationName(fileName);
  if ('refused' in name) throw new ConfigError(`${name.refused}.`, { file: fileName });
  const path = join(folder, fileName);
  const bytes = readBytes(path, fileName);
  const text = decodeMigrationText(bytes);
  if (text === undefined) throw new ConfigError(`Migration file ${fileName} is not UTF-8 text; save it as UTF-8.`, { file: fileName });
  const withoutBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const checksum = rawChecksum(bytes);
  const firstStatement = leadingCommentsEnd(text);
  const [mode, phase] = [migrationMode(text, firstStatement), migrationPhase(text, firstStatement)];
  return new LoadedMigration(name.id, name.number, fileName, path, checksum, mode, phase, text, withoutBom);
}

/**
 * A file as read. Its statements are found (and its content checked: unclosed quotes, psql
 * meta-commands, transaction control) on first use, so that the every-pod-start run, which
 * applies nothing, does not lex every file; `migrate` checks the files it will apply before the
 * first one runs, and discoverMigrations checks them all unless asked not to.
 */
class LoadedMigration implements MigrationFile {
  private prepared: { statements: readonly Statement[]; executable: string } | undefined;

  constructor(
    readonly id: string,
    readonly number: bigint,
    readonly fileName: string,
    readonly path: string,
    readonly checksum: string,
    readonly mode: MigrationMode,
    readonly phase: MigrationPhase,
    readonly text: string,
    private readonly bytes: Buffer,
  ) {}

  get executableBytes(): Buffer {
    const executable = this.executable;
    return executable === this.text ? this.bytes : Buffer.from(executable);
  }

  get statements(): readonly Statement[] {
    return this.prepare().statements;
  }

  get executable(): string {
    return this.prepare().executable;
  }

  private prepare(): { statements: readonly Statement[]; executable: string } {
    this.prepared ??= prepareText(this.text, this.fileName, this.mode);
    return this.prepared;
  }
}

/** Throws the ConfigError a file's content deserves, if any. */
export function checkMigration(file: MigrationFile): void {
  void file.statements;
}

/**
 * With standard_conforming_strings off, PostgreSQL reads a backslash in a plain '…' string as an
 * escape, unlike the lexer that split the file (and lint): such a file is refused (exit 2)
 * rather than run as something other than what it says.
 */
export function refuseUnderNonStandardStrings(file: MigrationFile, standardConformingStrings: string | undefined): void {
  if (standardConformingStrings !== 'off') return;
  const index = lex(file.text).backslashInPlainString;
  if (index === undefined) return;
  const { line, column } = lineColumn(file.text, index);
  throw new ConfigError(
    `${file.fileName}:${line}:${column}: this string holds a backslash, and the database has standard_conforming_strings = off, under which PostgreSQL reads the backslash as an escape, not as the file says; write it as an E'' string with each backslash doubled, or turn the setting on (ALTER DATABASE … SET standard_conforming_strings = on; on is the default).`,
    { file: file.fileName, setting: 'standard_conforming_strings' },
  );
}

function prepareText(text: string, fileName: string, mode: MigrationMode): { statements: readonly Statement[]; executable: string } {
  const at = (index: number) => {
    const { line, column } = lineColumn(text, index);
    return `${fileName}:${line}:${column}`;
  };
  const refused = refusedCharacter(text);
  if (refused) throw new ConfigError(`${at(refused.index)}: ${refused.what}.`, { file: fileName });
  const lexed = lex(text);
  const copy = lexed.statements.find(copiesFromClient);
  if (copy) throw new ConfigError(`${at(copy.start)}: ${COPY_FROM_CLIENT}.`, { file: fileName });
  if (lexed.unterminated) {
    throw new ConfigError(`${at(lexed.unterminated.index)}: ${lexed.unterminated.what} is never closed.`, { file: fileName });
  }
  const meta = lexed.metaCommands[0];
  if (meta) {
    throw new ConfigError(
      `${at(meta.index)}: "${meta.text}" is a psql meta-command, which only psql understands; write it as SQL or remove it.`,
      {
        file: fileName,
      },
    );
  }
  return { statements: lexed.statements, executable: executableText(text, lexed.statements, mode, at) };
}

/**
 * A transactional file runs inside the runner's own transaction, so its top-level BEGIN/COMMIT
 * are blanked: statements after its COMMIT (verification, its own ledger insert) stay in the
 * same atomic unit. A ROLLBACK cannot be honoured that way and is refused.
 */
function executableText(text: string, statements: readonly Statement[], mode: MigrationMode, at: (i: number) => string): string {
  let executable = text;
  for (const statement of statements) {
    const verdict = transactionControlVerdict(statement, mode);
    if (verdict === 'not transaction control') continue;
    if (verdict !== 'neutralised') throw new ConfigError(`${at(statement.start)}: ${verdict.refused}`, { file: at(statement.start) });
    executable = blank(executable, statement.start, statement.next);
  }
  return executable;
}

function readBytes(path: string, fileName: string): Buffer {
  try {
    return readMigrationFile(path, fileName);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`Migration file ${fileName} cannot be read (${code}); check its permissions.`, { file: fileName });
  }
}
