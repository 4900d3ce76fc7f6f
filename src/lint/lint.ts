/**
 * `lint` without a database: every migration file, in migration order, through every rule. The
 * order matters: what earlier files did (a validated CHECK) changes what a later one risks.
 */
import type { LedgerName } from '../migrations/ledger-name.js';
import type { Finding, LintReport } from './findings.js';
import { SchemaHistory } from './history.js';
import { lintFile } from './lint-file.js';
import { loadParser } from './parser.js';
import { readMigrationSources } from './sources.js';

export async function lintMigrations(dir: string, ledger: LedgerName): Promise<LintReport> {
  const { sources, findings } = readMigrationSources(dir);
  const parser = await loadParser();
  const history = new SchemaHistory();
  const all: Finding[] = [...findings];
  for (const source of sources) {
    if (source.text !== undefined) all.push(...lintFile(source.fileName, source.text, parser, history, ledger));
  }
  const order = new Map(sources.map((source, i) => [source.fileName, i]));
  all.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.column - b.column);
  return { files: sources.length, findings: all };
}
