/**
 * `rehearse`: proves every migration idempotent. On a scratch database (`xyn_rehearse_<random>`
 * on the same server, or the empty database of XYN_REHEARSE_URL, refused with exit 3 when it holds
 * anything) it applies every file in order,
 * then runs each file a second time, comparing a catalog snapshot after each second run with the
 * one after the first pass. The scratch database is dropped at the end, also on failure.
 */
import { randomBytes } from 'node:crypto';
import { ConnectError, MigrationError } from '../errors.js';
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { catalogSnapshot, compareSnapshots, type CatalogDifference } from '../db/catalog.js';
import { applyMigration, type ApplyContext } from '../db/execute.js';
import { ensureLedger } from '../db/ledger.js';
import { createDatabase, databaseContents, dropDatabase, type DatabaseContents } from '../db/scratch.js';
import { serverError, type Session } from '../db/session.js';
import { connectionTarget, withDatabase, type ConnectionTarget } from '../target.js';
import { openSession, requireDatabase, type CommandContext } from './context.js';

export async function rehearse(ctx: CommandContext): Promise<void> {
  const files = discoverMigrations(ctx.config.migrationsDir);
  const scratch = await scratchDatabase(ctx);
  try {
    const session = await openSession(ctx, { writable: true, target: scratch.target });
    try {
      if (scratch.given) await requireEmpty(session, scratch.target, ctx);
      await rehearseOn(session, files, ctx);
    } finally {
      await session.close();
    }
  } finally {
    await scratch.drop();
  }
  ctx.log.info(
    { files: files.length, database: scratch.target.database },
    'rehearsal passed: every migration ran twice and its second run changed nothing',
  );
}

async function rehearseOn(session: Session, files: readonly MigrationFile[], ctx: CommandContext): Promise<void> {
  const apply: ApplyContext = { ...ctx.config, session, log: ctx.log, stop: ctx.stop };
  await ensureLedger(session, ctx.config.ledger);
  for (const file of files) await applyMigration(file, apply);
  const afterFirstPass = await catalogSnapshot(session);
  for (const file of files) {
    try {
      await applyMigration(file, { ...apply, reapply: true });
    } catch (error) {
      if (error instanceof MigrationError) {
        throw new MigrationError(
          `Rehearsal: the second run of ${file.fileName} failed, so it is not idempotent: ${error.message}`,
          error.fields,
        );
      }
      throw error;
    }
    const difference = compareSnapshots(afterFirstPass, await catalogSnapshot(session));
    if (difference) {
      throw new MigrationError(
        `Rehearsal: the second run of ${file.fileName} changed the schema, so it is not idempotent: ${describe(difference)}.`,
        {
          migrationFile: file.fileName,
          added: difference.added,
          removed: difference.removed,
        },
      );
    }
  }
}

function describe(difference: CatalogDifference): string {
  const lines = [...difference.removed.map((l) => `before: ${l}`), ...difference.added.map((l) => `after: ${l}`)];
  return lines.slice(0, 6).join('; ') + (lines.length > 6 ? `; and ${lines.length - 6} more` : '');
}

/** A rehearsal on a database that holds something would judge the files against that, not against nothing. */
async function requireEmpty(session: Session, target: ConnectionTarget, ctx: CommandContext): Promise<void> {
  const contents = await databaseContents(session, ctx.config.ledger);
  if (contents.relations === 0) return;
  throw new ConnectError(
    `Rehearsal needs an empty database, and XYN_REHEARSE_URL names ${target.display}, which is not empty: it holds ${describeContents(contents, ctx)}; ` +
      'drop and recreate it (a rehearsal leaves what it applied there), or leave XYN_REHEARSE_URL unset to rehearse on a scratch database (needs CREATEDB).',
    {
      database: target.database,
      relations: contents.relations,
      firstRelations: contents.firstRelations,
      ledgerRows: contents.ledgerRows ?? null,
    },
  );
}

function describeContents(contents: DatabaseContents, ctx: CommandContext): string {
  const { relations, firstRelations, ledgerRows } = contents;
  const more = relations > firstRelations.length ? `, and ${relations - firstRelations.length} more` : '';
  const ledger = `${ctx.config.ledger.schema}.${ctx.config.ledger.table}`;
  const ledgerPart = ledgerRows === undefined ? 'no ledger' : `the ledger ${ledger} with ${ledgerRows} row${ledgerRows === 1 ? '' : 's'}`;
  return `${relations} relation${relations === 1 ? '' : 's'} (${firstRelations.join(', ')}${more}) and ${ledgerPart}`;
}

interface Scratch {
  readonly target: ConnectionTarget;
  /** XYN_REHEARSE_URL's database, not one made for this run */
  readonly given: boolean;
  drop(): Promise<void>;
}

async function scratchDatabase(ctx: CommandContext): Promise<Scratch> {
  if (ctx.config.rehearseUrl) {
    return {
      target: connectionTarget(ctx.config.rehearseUrl, 'XYN_REHEARSE_URL', ctx.config.tlsDefaults),
      given: true,
      drop: () => Promise.resolve(),
    };
  }
  const server = requireDatabase(ctx.config);
  const name = `xyn_rehearse_${randomBytes(6).toString('hex')}`;
  const admin = await openSession(ctx, { writable: true, target: server });
  try {
    await createDatabase(admin, name);
  } catch (error) {
    await admin.close();
    const reason = serverError(error)?.message ?? String(error);
    throw new ConnectError(
      `Rehearsal needs a scratch database and could not create one (${reason}); grant CREATEDB or set XYN_REHEARSE_URL to an empty database.`,
    );
  }
  ctx.log.info({ database: name }, 'created the scratch database');
  return {
    target: withDatabase(server, name),
    given: false,
    drop: async () => {
      try {
        await dropDatabase(admin, name);
      } catch (error) {
        ctx.log.warn({ database: name, reason: serverError(error)?.message }, 'could not drop the scratch database; drop it by hand');
      } finally {
        await admin.close();
      }
    },
  };
}
