/**
 * Each applying `migrate` is a run of the Xyn engine's blueprint `core.migrations.apply@v1`: one
 * row in `runs` (running → completed | failed | cancelled) and one row in `steps` per file, so
 * operators see schema changes where they see all other work.
 *
 * Recording never changes what the job does: its statements run between migrations, in their
 * own autocommit transactions, never inside a migration's; any failure to record is a warning and
 * switches recording off for the rest of the job. 'running' is never a status workers claim
 * (they claim 'queued'). Until the tables exist (a fresh database before 001) the recorder looks
 * again after each file that mentions them, and starts the run as soon as they do.
 */
import pg from 'pg';
import type { Logger } from '../log.js';
import type { MigrationFile } from '../migrations/discover.js';
import { InterruptedError, XynError } from '../errors.js';
import type { Applied, ApplyOutcome } from './execute.js';
import type { Session } from './session.js';
import { serverError } from './session.js';

export const BLUEPRINT_ID = 'core.migrations.apply@v1';

export interface RunInputs {
  readonly files: readonly string[];
  readonly required: readonly string[] | 'all';
  readonly version: string;
  readonly host: string;
  readonly applied_by: string;
}

const MENTIONS_ENGINE_TABLES = /\b(runs|steps|blueprints)\b/i;

/** The engine's tables: in a tenant schema when the fleet migrates one, else as search_path finds them. */
function engineTables(schema: string | undefined) {
  const q = (name: string) => (schema === undefined ? name : `${pg.escapeIdentifier(schema)}.${name}`);
  return { runs: q('runs'), steps: q('steps'), blueprints: q('blueprints') };
}

export class RunRecorder {
  private runId: string | undefined;
  private off: boolean;
  private readonly done: Applied[] = [];
  private readonly startedAt = new Date();
  private readonly tables: ReturnType<typeof engineTables>;
  private readonly lazy: boolean;

  constructor(
    private readonly session: Session,
    private readonly inputs: RunInputs,
    private readonly log: Logger,
    enabled: boolean,
    options: {
      /** start the run with the first file this job applies, not before (behind a pooler) */
      readonly untilFirstApplied?: boolean;
      /** a fleet's tenant schema, where its engine tables are */
      readonly schema?: string | undefined;
    } = {},
  ) {
    this.off = !enabled;
    this.lazy = options.untilFirstApplied ?? false;
    this.tables = engineTables(options.schema);
  }

  /** Under the lock, before the first file. */
  async start(): Promise<void> {
    if (!this.off && !this.lazy) await this.tryStart();
  }

  /** After each applied file. */
  async step(file: MigrationFile, result: Applied): Promise<void> {
    this.done.push(result);
    if (this.off) return;
    if (this.runId === undefined) {
      if (MENTIONS_ENGINE_TABLES.test(file.text) || (this.lazy && this.done.length === 1)) await this.tryStart();
      return;
    }
    await this.recordStep(this.done.length - 1, result.id, 'completed', result.durationMs, null);
  }

  /** Once the pass is over: completed, or the failed step and the run failed (or cancelled). */
  async finish(outcome: ApplyOutcome): Promise<void> {
    if (!outcome.failed) return this.close('completed', null);
    const { file, error } = outcome.failed;
    if (this.lazy && this.runId === undefined) await this.tryStart();
    const fields = error instanceof XynError ? { message: error.message, ...error.fields } : { message: String(error) };
    if (this.runId !== undefined) await this.recordStep(this.done.length, file.id, 'failed', null, fields);
    await this.close(error instanceof InterruptedError ? 'cancelled' : 'failed', fields);
  }

  private async tryStart(): Promise<void> {
    await this.guard('start', async () => {
      const [state] = await this.session.query<{ ready: boolean }>(
        `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AS ready`,
        [this.tables.runs, this.tables.steps, this.tables.blueprints],
      );
      if (!state?.ready) return;
      // The blueprint row comes with 001; on a database whose tables predate it, wait for it.
      const [row] = await this.session.query<{ id: string }>(
        `INSERT INTO ${this.tables.runs} (blueprint_id, status, inputs, attempts, started_at, created_at, updated_at)
         SELECT $1::text, 'running', $2::jsonb, 1, $3::timestamptz, $3::timestamptz, now()
          WHERE EXISTS (SELECT 1 FROM ${this.tables.blueprints} WHERE id = $1::text) RETURNING id::text`,
        [BLUEPRINT_ID, JSON.stringify(this.inputs), this.startedAt],
      );
      if (!row) return;
      this.runId = row.id;
      this.log.debug({ runId: this.runId }, 'recording this job as a run of core.migrations.apply@v1');
      for (const [idx, step] of this.done.entries()) await this.recordStep(idx, step.id, 'completed', step.durationMs, null);
    });
  }

  private async recordStep(
    idx: number,
    name: string,
    status: 'completed' | 'failed',
    durationMs: number | null,
    error: Record<string, unknown> | null,
  ) {
    await this.guard('step', () =>
      this.session.query(
        `INSERT INTO ${this.tables.steps} (run_id, idx, name, status, started_at, finished_at, duration_ms, error)
         VALUES ($1, $2, $3, $4, now() - make_interval(secs => coalesce($5::int, 0) / 1000.0), now(), $5, $6)`,
        [this.runId, idx, name, status, durationMs, error === null ? null : JSON.stringify(error)],
      ),
    );
  }

  private async close(status: 'completed' | 'failed' | 'cancelled', error: Record<string, unknown> | null): Promise<void> {
    if (this.runId === undefined) return;
    const outputs = { applied: this.done.map((d) => ({ id: d.id, duration_ms: d.durationMs })) };
    await this.guard('finish', () =>
      this.session.query(
        `UPDATE ${this.tables.runs} SET status = $2, outputs = $3, error = $4, finished_at = now(), updated_at = now() WHERE id = $1`,
        [this.runId, status, JSON.stringify(outputs), error === null ? null : JSON.stringify(error)],
      ),
    );
  }

  /** A failure to record is a warning and turns recording off; never a failed job. */
  private async guard(what: string, action: () => Promise<unknown>): Promise<void> {
    if (this.off) return;
    try {
      await action();
    } catch (error) {
      this.off = true;
      const db = serverError(error);
      this.log.warn(
        { step: what, sqlstate: db?.code, reason: db?.message ?? String(error) },
        "could not record this job in the engine's runs/steps tables; the migrations are unaffected, recording is off for the rest of this job",
      );
    }
  }
}

/** What `repair` records: who removed which ledger row, and why. */
export interface RepairRecord {
  readonly inputs: { readonly action: 'repair'; readonly remove: string; readonly reason: string } & Omit<RunInputs, 'files' | 'required'>;
  readonly outputs: object;
}

/**
 * `repair` as a completed run of core.migrations.apply@v1 (inputs.action = 'repair') with one step,
 * inside the caller's transaction, so the removal and its record commit together. A savepoint
 * keeps a failure to record from undoing the repair: it is a warning, as for migrate. Returns the
 * run's id, or null when the engine's tables are not there (or recording failed).
 */
export async function recordRepairRun(session: Session, record: RepairRecord, log: Logger, schema?: string): Promise<string | null> {
  const tables = engineTables(schema);
  await session.query('SAVEPOINT xyn_repair_record');
  try {
    const [row] = await session.query<{ id: string }>(
      `INSERT INTO ${tables.runs} (blueprint_id, status, inputs, outputs, attempts, started_at, finished_at, created_at, updated_at)
       SELECT $1::text, 'completed', $2::jsonb, $3::jsonb, 1, now(), now(), now(), now()
        WHERE EXISTS (SELECT 1 FROM ${tables.blueprints} WHERE id = $1::text) RETURNING id::text`,
      [BLUEPRINT_ID, JSON.stringify(record.inputs), JSON.stringify(record.outputs)],
    );
    if (row) {
      await session.query(
        `INSERT INTO ${tables.steps} (run_id, idx, name, status, started_at, finished_at, duration_ms) VALUES ($1, 0, $2, 'completed', now(), now(), 0)`,
        [row.id, `remove ${record.inputs.remove}`],
      );
    }
    await session.query('RELEASE SAVEPOINT xyn_repair_record');
    return row?.id ?? null;
  } catch (error) {
    await session.query('ROLLBACK TO SAVEPOINT xyn_repair_record');
    const db = serverError(error);
    // No such table or schema: a database without the engine's tables; nothing to record in, nothing to warn about.
    if (db?.code !== '42P01' && db?.code !== '3F000') {
      log.warn(
        { sqlstate: db?.code, reason: db?.message ?? String(error) },
        "could not record this repair in the engine's runs/steps tables; the repair itself is unaffected",
      );
    }
    return null;
  }
}

export interface LastRun {
  readonly id: string;
  readonly status: string;
  readonly started_at: Date | null;
  readonly finished_at: Date | null;
  readonly host: string | null;
  readonly applied_by: string | null;
  readonly error: string | null;
}

/** The newest recorded migrate run, or null when none is recorded (or there is no runs table). */
export async function lastRun(session: Session, schema?: string): Promise<LastRun | null> {
  try {
    const [row] = await session.query<LastRun>(
      `SELECT id::text, status, started_at, finished_at, inputs->>'host' AS host, inputs->>'applied_by' AS applied_by, error->>'message' AS error
         FROM ${engineTables(schema).runs} WHERE blueprint_id = $1 ORDER BY started_at DESC NULLS LAST LIMIT 1`,
      [BLUEPRINT_ID],
    );
    return row ?? null;
  } catch (error) {
    if (serverError(error)?.code === '42P01' || serverError(error)?.code === '42703') return null;
    throw error;
  }
}
