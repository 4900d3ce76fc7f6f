/**
 * `migrate`, the init job: files and a writable PostgreSQL → the migrator (engine/migrate.ts) →
 * the ledger printed.
 */
import { outputIsForAPerson, type CommandContext } from '../command-context.js';
import { migrate as migrateDatabase } from '../engine/migrate.js';
import { onTheDatabase } from '../engine/open-session.js';
import { ledgerJson, ledgerTable } from '../tables.js';

export async function migrate(ctx: CommandContext): Promise<void> {
  const result = await onTheDatabase(ctx, { writable: true }, (scope, files) =>
    migrateDatabase(scope, files, ctx.config, { progress: ctx.progress }),
  );
  if (!result.ok) throw result.error;
  if (outputIsForAPerson(ctx)) ctx.print(ledgerTable(result.ledger));
  else ctx.log.info({ ledger: ledgerJson(result.ledger) }, 'ledger');
}
