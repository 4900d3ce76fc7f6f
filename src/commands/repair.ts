/**
 * `repair --remove <id> --reason "<why>" --yes`: forgets a migration applied by mistake (Flyway's
 * `repair`, golang-migrate's `force`). Ledger only: the row `<id>` and its partial-run record go,
 * in one transaction under the migration lock, with a record of who and why in the engine's run
 * history (when its tables exist) and a warning in the log. The schema is never touched: what the
 * migration made stays, and the next migrate applies the file again if it is still there.
 */
import { ConfigError, VerificationError } from '../errors.js';
import type { LedgerRow, PartialRun } from '../plan.js';
import { clearPartialSql, readLedger, readPartial, removeLedgerRow } from '../db/ledger.js';
import { recordRepairRun } from '../db/runs.js';
import type { Session } from '../db/session.js';
import { version } from '../version.js';
import { openSession, withMigrationLock, type CommandContext } from './context.js';

export interface RepairRequest {
  /** the id (or file name) whose ledger row goes */
  readonly remove: string | undefined;
  readonly reason: string | undefined;
  /** the explicit confirmation */
  readonly yes: boolean;
}

/** What was removed: the run record's outputs, the warning's fields and the --json document alike. */
interface Removed {
  readonly removed: { id: string; applied_at: string; applied_by: string | null; checksum: string | null } | null;
  readonly partial: { statements_run: number; statements: number } | null;
}

function removedRecord(id: string, row: LedgerRow | null, partial: PartialRun | null): Removed {
  return {
    removed: row && { id, applied_at: row.appliedAt.toISOString(), applied_by: row.appliedBy, checksum: row.checksum },
    partial: partial && { statements_run: partial.statementsRun, statements: partial.statements },
  };
}

const USAGE = 'Usage: xyn-migrate repair --remove <id> --reason "<why>" --yes';

export async function repair(ctx: CommandContext, request: RepairRequest, json: boolean): Promise<void> {
  const { config, log } = ctx;
  const id = request.remove?.trim().replace(/(\.up)?\.sql$/, '');
  if (!id) throw new ConfigError(`${USAGE}: --remove names the ledger row to remove, e.g. --remove 004_add_tags.`, { flag: '--remove' });
  const reason = request.reason?.trim();
  if (!reason)
    throw new ConfigError(`${USAGE}: --reason says why ${id} is removed; it is recorded with who removed it.`, { flag: '--reason' });
  const ledger = `${config.ledger.schema}.${config.ledger.table}`;
  if (!request.yes) {
    throw new ConfigError(
      `repair would remove the row ${id} from the ledger ${ledger} (and its partial-run record, if any), leaving the schema as it is: what ${id} made stays, and the next migrate applies its file again if it is present. Add --yes to do it.`,
      { migration: id, flag: '--yes' },
    );
  }
  const session = await openSession(ctx, { writable: true });
  try {
    if (session.pooled) {
      throw new ConfigError(
        `repair takes the migration lock for its session, which a connection pooler does not keep; point DATABASE_URL at PostgreSQL itself to repair ${ledger}.`,
        { variables: ['DATABASE_URL'] },
      );
    }
    // A database without a ledger (the wrong one?) is told so, and is not given one by the lock's set-up.
    const nothingApplied =
      (await readLedger(session, config.ledger)).length === 0 && (await readPartial(session, config.ledger)).length === 0;
    if (nothingApplied) throw await notInLedger(session, ctx, id);
    const { removed, runId } = await withMigrationLock(session, ctx, () => removeUnderLock(session, ctx, id, reason));
    const what = [removed.removed ? `the ledger row ${id}` : undefined, removed.partial ? `the partial-run record of ${id}` : undefined];
    const recorded = runId ? "; recorded as a run in the engine's runs table" : '';
    log.warn(
      { migration: id, reason, by: config.appliedBy, host: config.host, ...removed, runId },
      `repair: removed ${what.filter(Boolean).join(' and ')} from ${ledger}; the schema is untouched (what ${id} made is still there)${recorded}`,
    );
    if (json)
      ctx.print(`${JSON.stringify({ ledger, ...removed, reason, by: config.appliedBy, host: config.host, run_id: runId }, null, 2)}\n`);
  } finally {
    await session.close();
  }
}

/** One transaction: the row, its partial record and the run record go in together, or nothing does. */
async function removeUnderLock(
  session: Session,
  ctx: CommandContext,
  id: string,
  reason: string,
): Promise<{ removed: Removed; runId: string | null }> {
  const { config, log } = ctx;
  const partial = (await readPartial(session, config.ledger)).find((p) => p.id === id) ?? null;
  await session.query('BEGIN');
  try {
    const row = await removeLedgerRow(session, config.ledger, id);
    if (!row && !partial) throw await notInLedger(session, ctx, id);
    if (partial) await session.script(clearPartialSql(config.ledger, id));
    const removed = removedRecord(id, row, partial);
    const inputs = { action: 'repair', remove: id, reason, version, host: config.host, applied_by: config.appliedBy } as const;
    const runId =
      config.recordRuns === 'auto' ? await recordRepairRun(session, { inputs, outputs: removed }, log, config.searchPath) : null;
    await session.query('COMMIT');
    return { removed, runId };
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Exit 5: nothing to remove, which is worth knowing (a typo'd id, or a repair already done). */
async function notInLedger(session: Session, ctx: CommandContext, id: string): Promise<VerificationError> {
  const ids = (await readLedger(session, ctx.config.ledger)).map((r) => r.id);
  const newest = ids.length === 0 ? 'the ledger is empty' : `its newest ids are ${ids.slice(-5).join(', ')}`;
  return new VerificationError(
    `repair: ${id} is not in the ledger ${ctx.config.ledger.schema}.${ctx.config.ledger.table}, nor partly applied, so nothing was removed (${newest}).`,
    { migration: id },
  );
}
