/**
 * migrate, status and verify over many databases or schemas: the single-database job, once per
 * target, at most XYN_CONCURRENCY at once. A worker keeps its session for the next target with
 * the same connection parameters (schemas of one database: no new login per tenant).
 */
import type { FleetConfig } from '../config.js';
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { describeFailure, failureJson } from '../failure.js';
import { resetSession } from '../db/pooler.js';
import { serverError, type Session } from '../db/session.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../errors.js';
import type { CommandContext } from '../command-context.js';
import { migrate } from '../engine/migrate.js';
import { inspect, planNeedsAttention, verifyPlan } from '../engine/inspect.js';
import { openSession, requireDatabase } from '../engine/open-session.js';
import type { RunScope } from '../engine/run-scope.js';
import { forEachTarget, type TargetResult } from './pool.js';
import { finishFleet, fleetProgress } from './fleet-result.js';
import { inShard, readTargetsFile, resolveTargets, type Target, type TargetSpec } from './targets.js';
import type { ConnectionTarget } from '../target.js';

type Command = 'migrate' | 'status' | 'verify';
/** One target's work; a failure it throws is the target's result, with nothing applied. */
type TargetWork = (scope: RunScope, files: readonly MigrationFile[]) => Promise<Partial<TargetResult>>;

/** `applied` lists what the target committed in this run, whatever its status: one that failed at its second file lists its first. */
export const migrateFleet = (ctx: CommandContext, fleet: FleetConfig, json: boolean) =>
  runFleet(ctx, fleet, 'migrate', json, async (scope, files) => {
    const result = await migrate(scope, files, ctx.config);
    const applied = result.applied.map((a) => a.id);
    if (!result.ok) return { ...failed(result.error), applied };
    return { status: applied.length > 0 ? 'applied' : 'up-to-date', applied };
  });

export const verifyFleet = (ctx: CommandContext, fleet: FleetConfig, json: boolean) =>
  runFleet(ctx, fleet, 'verify', json, async (scope, files) => {
    verifyPlan((await inspect(scope, files, ctx.config)).plan, scope.log);
    return { status: 'up-to-date' };
  });

/** The fleet's version skew: each target's newest applied id, and which are behind or need a person. */
export const statusFleet = (ctx: CommandContext, fleet: FleetConfig, json: boolean) =>
  runFleet(ctx, fleet, 'status', json, async (scope, files) => {
    const { plan } = await inspect(scope, files, ctx.config, { details: true });
    const latest = plan.entries.filter((e) => 'row' in e).at(-1)?.id ?? null;
    const pending = plan.toApply.length;
    const refused = plan.refusals.length > 0 || plan.entries.some((e) => e.kind === 'partial');
    if (!planNeedsAttention(plan)) return { status: 'up-to-date', latest, pending };
    return { status: refused ? 'needs-attention' : 'behind', exit_code: 5, latest, pending };
  });

async function runFleet(ctx: CommandContext, fleet: FleetConfig, command: Command, json: boolean, work: TargetWork): Promise<void> {
  const all = await loadTargets(ctx, fleet);
  // The canary is the first k of the whole list, run first by every shard (the per-ledger lock
  // applies each once): a failing canary then stops every shard, not just the one it belongs to.
  const canary = all.slice(0, fleet.canary);
  const targets = [...canary, ...all.slice(canary.length).filter((t) => inShard(t, fleet.shard))];
  const files = discoverMigrations(ctx.config.migrationsDir, { lazy: true });
  if (targets.length === 0) {
    const from = fleet.source.kind === 'file' ? `XYN_TARGETS_FILE ${fleet.source.path}` : 'XYN_TARGETS_QUERY';
    ctx.log.warn(
      { of: all.length, shard: fleet.shard },
      `${command}: no targets${all.length > 0 ? ' in this shard' : ` in ${from}`}; nothing to do`,
    );
  }
  ctx.log.info(
    { targets: targets.length, of: all.length, shard: fleet.shard, concurrency: fleet.concurrency, canary: fleet.canary },
    `${command}: starting on ${targets.length} targets`,
  );
  const sessions = new WorkerSessions();
  const started = Date.now();
  const results = await forEachTarget(
    targets,
    async (target, worker) => {
      const begun = Date.now();
      const log = targetLog(ctx, target);
      let outcome: Partial<TargetResult>;
      try {
        const session = await sessions.get(worker, target, () =>
          openSession({ ...ctx, log }, { writable: command === 'migrate', target: target.connection }),
        );
        outcome = await work(scopeFor(session, ctx, target, log), files);
      } catch (error) {
        outcome = failed(error);
      }
      // a session that saw a failure may be broken or mid-transaction: the next target gets a new one
      if (outcome.status === 'failed') await sessions.drop(worker);
      return { ...base(target, begun), status: 'up-to-date', exit_code: 0, ...outcome };
    },
    {
      concurrency: fleet.concurrency,
      canary: canary.length,
      stop: ctx.stop,
      onResult: fleetProgress(ctx, started),
    },
  );
  await sessions.closeAll();
  // Another shard's canary target is that shard's to report, unless it failed here: then it is why the rest was skipped.
  const reported = results.filter((r, i) => i >= canary.length || inShard(targets[i]!, fleet.shard) || r.status === 'failed');
  finishFleet(ctx, command, reported, json, Date.now() - started);
}

function base(target: Target, begun: number) {
  return { target: target.name, schema: target.schema ?? null, applied: [], error: null, duration_ms: Date.now() - begun };
}

function failed(error: unknown): Partial<TargetResult> {
  const failure = describeFailure(error);
  return { status: 'failed', exit_code: failure.exitCode, error: failureJson(failure) };
}

/**
 * One log line per target is the fleet's; each target's own info lines would be thousands (a
 * quieter LOG_LEVEL stays quieter). Its per-file progress is not drawn: it would draw over the fleet's line.
 */
function targetLog(ctx: CommandContext, target: Target): Logger {
  const level = ctx.log.isLevelEnabled('debug') || !ctx.log.isLevelEnabled('warn') ? ctx.log.level : 'warn';
  return ctx.log.child({ target: target.name }, { level });
}

/** What one target's run works on: its session, its ledger (in its schema, when it has one), its schema. */
function scopeFor(session: Session, ctx: CommandContext, target: Target, log: Logger): RunScope {
  const ledger = target.schema === undefined ? ctx.config.ledger : { schema: target.schema, table: ctx.config.ledger.table };
  return { session, ledger, schema: target.schema, log, stop: ctx.stop };
}

async function loadTargets(ctx: CommandContext, fleet: FleetConfig): Promise<Target[]> {
  const rules = { base: ctx.config.database, tlsDefaults: ctx.config.tlsDefaults, ledgerSchema: ctx.config.ledger.schema };
  if (fleet.source.kind === 'file') return readTargetsFile(fleet.source.path, rules);
  const control = requireDatabase(ctx.config);
  const session = await openSession(ctx, { writable: false });
  let rows: Record<string, unknown>[];
  try {
    rows = await session.query<Record<string, unknown>>(fleet.source.sql);
  } catch (error) {
    const refused = serverError(error);
    if (!refused) throw error;
    // The query itself is wrong (a typo, a missing table or grant): configuration, not an outage.
    throw new ConfigError(
      `Invalid configuration: XYN_TARGETS_QUERY failed on ${control.display}: ${refused.message} (SQLSTATE ${refused.code}); it must return a column database or url, and optionally schema.`,
      { variables: ['XYN_TARGETS_QUERY'], sqlstate: refused.code },
    );
  } finally {
    await session.close();
  }
  const specs = rows.map((row, i) => ({ spec: specOf(row), origin: `XYN_TARGETS_QUERY row ${i + 1}` }));
  return resolveTargets(specs, { ...rules, base: control });
}

function specOf(row: Record<string, unknown>): TargetSpec {
  // a query's column may be any type: text as PostgreSQL would print it
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return { database: text(row.database), url: text(row.url), schema: text(row.schema) };
}

/**
 * Every connection parameter, the password and TLS settings included: a session may serve the
 * next target only if that target would have opened the very same one (a target with a wrong
 * password, or sslmode=verify-full, fails as it would alone). Functions (a TLS option's identity
 * check) are compared by their source: they are ours, with no state. Kept in memory, never logged.
 */
function connectionKey(connection: ConnectionTarget): string {
  return JSON.stringify(connection, (_key, value: unknown) => (typeof value === 'function' ? `function ${String(value)}` : value));
}

/** Each worker's session, kept (and reset) for its next target when that connects with the same parameters. */
class WorkerSessions {
  private readonly held = new Map<number, { key: string; session: Session }>();

  async get(worker: number, target: Target, open: () => Promise<Session>): Promise<Session> {
    const key = connectionKey(target.connection);
    const current = this.held.get(worker);
    // Never a pooled session: DISCARD ALL through a pooler reaches whichever server session serves
    // that statement, not the one a file's temporary table or SET ROLE was left on. Closing it lets
    // the pooler reset its server session (server_reset_query) before anyone else gets it.
    if (current?.key === key && !current.session.pooled) {
      try {
        await resetSession(current.session);
        return current.session;
      } catch {
        // lost since the last target (a restart, an idle timeout): a new session, waited for as any target's
      }
    }
    await this.drop(worker);
    const session = await open();
    this.held.set(worker, { key, session });
    return session;
  }

  async drop(worker: number): Promise<void> {
    const current = this.held.get(worker);
    this.held.delete(worker);
    await current?.session.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((worker) => this.drop(worker)));
  }
}
