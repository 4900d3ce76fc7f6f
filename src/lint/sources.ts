/**
 * The migrations folder as lint reads it. discoverMigrations stops at the first misnamed,
 * duplicate or unreadable file (exit 2), which is right for migrate; lint reports every such file
 * as a finding and goes on, with the same rules (migrations/naming.ts).
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeMigrationText, listSqlFiles, readMigrationFile, readMigrationName } from '../migrations/naming.js';
import { newFinding, type Finding } from './findings.js';

export interface MigrationSource {
  readonly fileName: string;
  /** undefined when the file cannot be read as UTF-8 text (a finding says so) */
  readonly text: string | undefined;
}

const FILE_START = { line: 1, column: 1 };

export function readMigrationSources(dir: string): { sources: MigrationSource[]; findings: Finding[] } {
  const folder = resolve(dir);
  const findings: Finding[] = [];
  const names = listSqlFiles(folder, dir, { allowEmpty: false });
  let previous: { name: string; number: bigint } | undefined;
  for (const name of names) {
    const verdict = readMigrationName(name);
    if ('refused' in verdict) {
      findings.push(newFinding(name, FILE_START, 'naming', `${verdict.refused}.`));
      continue;
    }
    if (previous?.number === verdict.number) {
      findings.push(newFinding(name, FILE_START, 'naming', `${name} has the number ${verdict.number} of ${previous.name}.`));
    }
    previous = { name, number: verdict.number };
  }
  const sources = names.map((fileName) => {
    const text = readText(join(folder, fileName), fileName);
    if (typeof text !== 'string') findings.push(newFinding(fileName, FILE_START, 'unreadable-file', `${fileName} ${text.problem}.`));
    return { fileName, text: typeof text === 'string' ? text : undefined };
  });
  return { sources, findings };
}

/** A file that is not a regular file, or too large, is a ConfigError (exit 2), as for migrate. */
function readText(path: string, fileName: string): string | { problem: string } {
  let bytes: Buffer;
  try {
    bytes = readMigrationFile(path, fileName);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  return decodeMigrationText(bytes) ?? { problem: 'is not UTF-8 text' };
}
