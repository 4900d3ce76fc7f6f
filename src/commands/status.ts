/**
 * `status [--json]`: every file and every ledger row side by side. Exit 0 when the database is up
 * to date and its history is clean, 5 when anything needs attention (pending, drifted, missing
 * file, out of order, a required migration not applied).
 */
import { VerificationError } from '../errors.js';
import type { Entry, Plan } from '../plan.js';
import { table } from '../report.js';
import type { LastRun } from '../db/runs.js';
import { inspect } from './inspect.js';
import type { CommandContext } from './context.js';

export interface StatusDocument {
  readonly ledger: string;
  readonly migrations_dir: string;
  readonly migrations: readonly StatusEntry[];
  readonly summary: Record<Entry['kind'], number>;
  readonly missing_required: readonly string[];
  readonly needs_attention: boolean;
  /** the newest migrate run recorded in the engine's runs table, or null */
  readonly last_run: LastRun | null;
}

export interface StatusEntry {
  readonly id: string;
  readonly state: Entry['kind'];
  readonly file: string | null;
  readonly mode: string | null;
  /** `post` for a `-- xyn:post-deploy` file, `pre` for any other; null for a ledger row without a file */
  readonly phase: string | null;
  readonly file_checksum: string | null;
  readonly ledger_checksum: string | null;
  /** "whitespace only": applied, and the file differs from it in line endings or trailing whitespace only (not drift) */
  readonly difference: 'whitespace only' | null;
  readonly applied_at: string | null;
  readonly duration_ms: number | null;
  readonly applied_by: string | null;
  /** a no-transaction file stopped midway: how many of its statements ran; null otherwise */
  readonly partial: { readonly statements_run: number; readonly statements: number } | null;
}

function statusEntry(entry: Entry): StatusEntry {
  const file = 'file' in entry ? entry.file : undefined;
  const row = 'row' in entry ? entry.row : undefined;
  return {
    id: entry.id,
    state: entry.kind,
    file: file?.fileName ?? null,
    mode: file?.mode ?? null,
    phase: file?.phase ?? null,
    file_checksum: file?.checksum ?? null,
    ledger_checksum: row?.checksum ?? null,
    difference: entry.kind === 'applied' ? (entry.difference ?? null) : null,
    applied_at: row?.appliedAt.toISOString() ?? null,
    duration_ms: row?.durationMs ?? null,
    applied_by: row?.appliedBy ?? null,
    partial: entry.kind === 'partial' ? { statements_run: entry.partial.statementsRun, statements: entry.partial.statements } : null,
  };
}

const KINDS: readonly Entry['kind'][] = [
  'applied',
  'applied-unverified',
  'pending',
  'partial',
  'drifted',
  'missing-file',
  'out-of-order',
  'ahead',
];
/** States that need nobody: applied, and applied ids of a newer image than this one (a rollback). */
const FINE: ReadonlySet<Entry['kind']> = new Set(['applied', 'applied-unverified', 'ahead']);

export async function status(ctx: CommandContext, json: boolean): Promise<void> {
  const { plan, lastRun } = await inspect(ctx, { details: true });
  const migrations = plan.entries.map(statusEntry);
  const summary = Object.fromEntries(KINDS.map((k) => [k, migrations.filter((m) => m.state === k).length])) as StatusDocument['summary'];
  const needsAttention = planNeedsAttention(plan);
  const document: StatusDocument = {
    ledger: `${ctx.config.ledger.schema}.${ctx.config.ledger.table}`,
    migrations_dir: ctx.config.migrationsDir,
    migrations,
    summary,
    missing_required: plan.missingRequired,
    needs_attention: needsAttention,
    last_run: lastRun,
  };
  ctx.print(json ? `${JSON.stringify(document, null, 2)}\n` : humanStatus(document));
  if (needsAttention) {
    throw new VerificationError(`Status: ${describeSummary(document)}.`, { summary, missingRequired: plan.missingRequired });
  }
}

/**
 * Anything but applied (or ahead of this image), or a required migration not applied. In the pre
 * phase a pending post-deploy file waits for the post phase: nothing to attend to yet.
 */
export function planNeedsAttention(plan: Plan): boolean {
  const deferred = new Set(plan.deferred);
  return plan.entries.some((e) => !FINE.has(e.kind) && !('file' in e && deferred.has(e.file))) || plan.missingRequired.length > 0;
}

function humanStatus(doc: StatusDocument): string {
  const rows = doc.migrations.map((m) => [
    m.id,
    m.partial
      ? `partial (${m.partial.statements_run} of ${m.partial.statements})`
      : m.difference
        ? `${m.state} (${m.difference})`
        : m.state === 'pending' && m.phase === 'post'
          ? 'pending (post-deploy)'
          : m.state,
    m.applied_at ?? '',
    m.duration_ms === null ? '' : String(m.duration_ms),
    m.applied_by ?? '',
    m.mode === 'no-transaction' ? 'no-transaction' : '',
  ]);
  const run = doc.last_run;
  const lastRunLine = run
    ? `last migrate run: ${run.status}, started ${run.started_at?.toISOString() ?? '?'} by ${run.applied_by ?? run.host ?? '?'}${run.error ? ` (${run.error})` : ''}\n`
    : '';
  return `${table(['id', 'state', 'applied_at', 'duration_ms', 'applied_by', 'mode'], rows)}\n${describeSummary(doc)}\n${lastRunLine}`;
}

function describeSummary(doc: StatusDocument): string {
  const postDeploy = doc.migrations.filter((m) => m.state === 'pending' && m.phase === 'post').length;
  const parts = KINDS.filter((k) => doc.summary[k] > 0).map((k) =>
    k === 'pending' && postDeploy > 0 ? `${doc.summary[k]} pending (${postDeploy} post-deploy)` : `${doc.summary[k]} ${k}`,
  );
  if (doc.missing_required.length > 0) parts.push(`required but not applied: ${doc.missing_required.join(', ')}`);
  return parts.length > 0 ? parts.join(', ') : 'no migrations';
}
