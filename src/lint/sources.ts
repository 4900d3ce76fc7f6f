/**
 * The migrations folder as lint reads it. discoverMigrations stops at the first misnamed,
 * duplicate or unreadable file (exit 2), which is right for migrate; lint reports every such file
 * as a finding and goes on, so it reads the folder leniently here, with the same naming rules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { newFinding, type Finding } from './findings.js';

export interface MigrationSource {
  readonly fileName: string;
  /** undefined when the file cannot be read as UTF-8 text (a finding says so) */
  readonly text: string | undefined;
}

/** discover.ts's rule: NNN_name.sql, three or more digits, compared as a number. */
const MIGRATION_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/;
const FILE_START = { line: 1, column: 1 };

interface Named {
  readonly fileName: string;
  readonly number: bigint | undefined;
}

export function readMigrationSources(dir: string): { sources: MigrationSource[]; findings: Finding[] } {
  const folder = resolve(dir);
  const findings: Finding[] = [];
  const named = sqlFileNames(folder, dir).map(numbered).sort(inMigrationOrder);
  for (const file of named) {
    if (file.number === undefined) {
      findings.push(newFinding(file.fileName, FILE_START, 'naming', `${file.fileName} is not named NNN_name.sql with a number of three or more digits.`));
    }
  }
  for (let i = 1; i < named.length; i++) {
    const [previous, current] = [named[i - 1]!, named[i]!];
    if (current.number !== undefined && current.number === previous.number) {
      findings.push(newFinding(current.fileName, FILE_START, 'naming', `${current.fileName} has the number ${current.number} of ${previous.fileName}.`));
    }
  }
  const sources = named.map(({ fileName }) => {
    const text = readText(join(folder, fileName));
    if (typeof text !== 'string') findings.push(newFinding(fileName, FILE_START, 'unreadable-file', `${fileName} ${text.problem}.`));
    return { fileName, text: typeof text === 'string' ? text : undefined };
  });
  return { sources, findings };
}

function sqlFileNames(folder: string, given: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`Migrations folder ${given} cannot be read (${code}); set XYN_MIGRATIONS_DIR or pass --migrations-dir.`, {
      variable: 'XYN_MIGRATIONS_DIR',
    });
  }
  const names = entries.filter((name) => name.toLowerCase().endsWith('.sql') && !isDirectory(join(folder, name)));
  if (names.length === 0) {
    throw new ConfigError(`Migrations folder ${given} holds no .sql files; set XYN_MIGRATIONS_DIR or pass --migrations-dir.`, {
      variable: 'XYN_MIGRATIONS_DIR',
    });
  }
  return names;
}

function numbered(fileName: string): Named {
  const match = MIGRATION_NAME.exec(fileName);
  const digits = match?.[1];
  return { fileName, number: digits !== undefined && digits.length >= 3 ? BigInt(digits) : undefined };
}

/** Migration order; misnamed files (which migrate would refuse) come last, by name. */
function inMigrationOrder(a: Named, b: Named): number {
  if (a.number !== b.number) {
    if (a.number === undefined) return 1;
    if (b.number === undefined) return -1;
    return a.number < b.number ? -1 : 1;
  }
  return a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readText(path: string): string | { problem: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return { problem: 'is not UTF-8 text' };
  }
}
