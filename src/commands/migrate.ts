/**
 * `migrate`, the init job: the migrator on the configured database (engine/migrate.ts), then the
 * ledger printed (or, with --json, the result document).
 */
import { outputIsForAPerson, type CommandContext } from '../command-context.js';
import { migrateDatabase } from '../engine/migrate.js';
import { ledgerJson, ledgerTable, migrateJson } from '../tables.js';

/** `json`: the result document on stdout instead of the ledger table. */
export async function migrate(ctx: CommandContext, json = false): Promise<void> {
  const result = await migrateDatabase(ctx, { progress: ctx.progress });
  if (!result.ok) throw result.error;
  if (json) ctx.print(`${JSON.stringify(migrateJson(result.applied, result.ledger), null, 2)}\n`);
  else if (outputIsForAPerson(ctx)) ctx.print(ledgerTable(result.ledger));
  else ctx.log.info({ ledger: ledgerJson(result.ledger) }, 'ledger');
}
