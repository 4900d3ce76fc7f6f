/**
 * `new <name>`: writes the next-numbered migration file from the template (the conventions of
 * docs/writing-migrations.md: header, guarded DDL, a verification block that raises, the ledger insert
 * into the configured ledger, XYN_LEDGER_SCHEMA.XYN_LEDGER_TABLE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { discoverMigrations } from '../migrations/discover.js';
import { ledgerSqlName, type LedgerName } from '../migrations/ledger-name.js';
import type { CommandContext } from './context.js';

/** The file `new` writes; its last statement records it in `ledger` (the configured one). */
export function migrationTemplate(id: string, ledger: LedgerName): string {
  return `-- ${id}
--
-- What:  <what this migration changes>
-- Why:   <why the schema needs it>
-- Re-running: every statement is guarded; a second run changes nothing.

BEGIN;

-- CREATE TABLE IF NOT EXISTS …;
-- ALTER TABLE … ADD COLUMN IF NOT EXISTS …;

COMMIT;

-- Verification: fail loudly if the change is not there.
DO $verify$
BEGIN
    -- IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '…'::regclass AND attname = '…' AND NOT attisdropped) THEN
    --     RAISE EXCEPTION '${id}: … is missing';
    -- END IF;
END
$verify$;

INSERT INTO ${ledgerSqlName(ledger)} (id) VALUES ('${id}') ON CONFLICT (id) DO NOTHING;
`;
}

export function newMigration(ctx: CommandContext, args: readonly string[]): string {
  const raw = args.join('_');
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') throw new ConfigError('Usage: xyn-migrate new <name>, e.g. `xyn-migrate new add_run_labels`.');
  try {
    mkdirSync(ctx.config.migrationsDir, { recursive: true }); // a fresh project has no folder yet
  } catch (error) {
    throw new ConfigError(`Cannot create ${ctx.config.migrationsDir} (${(error as NodeJS.ErrnoException).code}).`, {
      file: ctx.config.migrationsDir,
    });
  }
  const files = discoverMigrations(ctx.config.migrationsDir, { allowEmpty: true });
  const taken = files.find((f) => f.id.replace(/^\d+_/, '').toLowerCase() === name);
  if (taken) {
    throw new ConfigError(
      `A migration named ${name} exists already: ${taken.fileName} in ${ctx.config.migrationsDir}; choose another name, or edit that file if it is not applied yet.`,
      { file: taken.fileName },
    );
  }
  const last = files.at(-1);
  const next = (last?.number ?? 0n) + 1n;
  const width = Math.max(3, last ? /^\d+/.exec(last.fileName)![0].length : 3);
  const id = `${next.toString().padStart(width, '0')}_${name}`;
  const path = join(ctx.config.migrationsDir, `${id}.sql`);
  try {
    writeFileSync(path, migrationTemplate(id, ctx.config.ledger), { flag: 'wx' });
  } catch (error) {
    throw new ConfigError(`Cannot write ${path} (${(error as NodeJS.ErrnoException).code}).`, { file: path });
  }
  ctx.print(`${path}\n`);
  return path;
}
