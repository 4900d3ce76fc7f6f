/**
 * `lint [--json]`: static checks of the migration files, without a database. Exit 0 when clean,
 * 1 with findings, 2 when the folder cannot be read or the parser package is not installed. The
 * ledger a file may record itself in is the configured one (XYN_LEDGER_SCHEMA, XYN_LEDGER_TABLE).
 *
 * Silencing: a comment between statements
 *   -- xyn:lint-ignore <rule-id> [<rule-id>…] [: why it is safe]       the whole file
 *   -- xyn:lint-ignore-next <rule-id> [<rule-id>…] [: why it is safe]  the statement below it
 * Rules that mirror a refusal of migrate itself (naming, psql meta-commands, ROLLBACK…) cannot
 * be silenced: the file would still not apply.
 */
import { ConfigError } from '../errors.js';
import { LintFindings, type LintReport } from '../lint/findings.js';
import { lintMigrations } from '../lint/lint.js';
import { lintJson, lintText } from '../lint/report.js';
import type { CommandContext } from '../command-context.js';

export async function lint(ctx: CommandContext, json: boolean, args: readonly string[]): Promise<LintReport> {
  if (args.length > 0) throw new ConfigError(`lint takes no arguments, got "${args.join(' ')}"; name the folder with --migrations-dir.`);
  const report = await lintMigrations(ctx.config.migrationsDir, ctx.config.ledger);
  ctx.print(json ? lintJson(report.findings) : lintText(report, ctx.stdoutIsTerminal));
  if (report.findings.length > 0) throw new LintFindings(report);
  return report;
}
