/**
 * `migrate`, the init job: the migrator on the configured database (engine/migrate.ts), then the
 * ledger printed.
 */
import { outputIsForAPerson, type CommandContext } from '../command-context.js';
import { migrateDatabase } from '../engine/migrate.js';
import { ledgerJson, ledgerTable } from '../tables.js';

export async function migrate(ctx: CommandContext): Promise<void> {
  const result = await migrateDatabase(ctx, { progress: ctx.progress });
  if (!result.ok) throw result.error;
  if (outputIsForAPerson(ctx)) ctx.print(ledgerTable(result.ledger));
  else ctx.log.info({ ledger: ledgerJson(result.ledger) }, 'ledger');
}
