/**
 * What a fleet run tells: a log line per target as it finishes (and a live line at a terminal),
 * then the result — a table for a person, one JSON document with --json — and the exit code:
 * the most urgent of the targets' (2, 5, 1, 4, 3: what needs a person first, an unreachable
 * database last, since a retry may fix it), or 143/130 when a signal stopped the run.
 */
import { ExitCode, XynError } from '../errors.js';
import { bigintAsText } from '../failure.js';
import { table } from '../report.js';
import type { CommandContext } from '../commands/context.js';
import type { TargetResult } from './pool.js';

const URGENCY: readonly number[] = [
  ExitCode.invalidConfig,
  ExitCode.verificationFailed,
  ExitCode.migrationFailed,
  ExitCode.lockTimeout,
  ExitCode.unreachable,
];

/**
 * Told of each finished target: its one log line, and at a terminal the live line
 * `[done/total] n failed, rate/s, ETA`, cleared before each log line and drawn again after it.
 */
export function fleetProgress(ctx: CommandContext, started: number): (result: TargetResult, done: number, total: number) => void {
  let failed = 0;
  return (result, done, total) => {
    const fields = {
      target: result.target,
      schema: result.schema ?? undefined,
      status: result.status,
      applied: result.applied.length,
      durationMs: result.duration_ms,
    };
    ctx.progressLine('');
    if (result.exit_code !== 0 && result.exit_code !== null) {
      failed++;
      ctx.log.error(
        { ...fields, exitCode: result.exit_code },
        `${result.target}: ${String((result.error?.message as string | undefined) ?? result.status)}`,
      );
    } else ctx.log.info(fields, `${result.target}: ${result.status}`);
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    ctx.progressLine(`[${done}/${total}] ${failed} failed, ${rate.toFixed(1)}/s, ETA ${Math.ceil((total - done) / rate)}s`);
  };
}

/** Thrown when any target did not end well; the document or table has been printed already. */
export class FleetFailed extends XynError {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, fields: Record<string, unknown>) {
    super(message, fields);
    this.exitCode = exitCode;
  }
}

export function finishFleet(
  ctx: CommandContext,
  command: string,
  results: readonly TargetResult[],
  json: boolean,
  durationMs: number,
): void {
  ctx.progressLine('');
  const summary: Record<string, number> = { targets: results.length };
  for (const r of results) summary[r.status] = (summary[r.status] ?? 0) + 1;
  if (json)
    ctx.print(
      `${JSON.stringify({ targets: results, summary, ...(command === 'status' ? { skew: skew(results) } : {}) }, bigintAsText, 2)}\n`,
    );
  else if (ctx.stdoutIsTerminal || ctx.config.logFormat === 'pretty') ctx.print(humanTable(command, results));
  const counts = Object.entries(summary)
    .filter(([k]) => k !== 'targets')
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const stopped = ctx.stop.stopped;
  if (stopped)
    throw new FleetFailed(
      `Stopped by ${stopped}: no new target started, the running ones stopped as a single run does; ${counts}.`,
      stopped === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm,
      { summary },
    );
  const failing = results.filter((r) => r.exit_code !== null && r.exit_code !== 0);
  if (failing.length === 0) {
    ctx.log.info({ summary, durationMs }, `${command}: ${results.length} targets, ${counts}`);
    return;
  }
  const exitCode = URGENCY.find((code) => failing.some((r) => r.exit_code === code)) ?? failing[0]!.exit_code!;
  const named = failing
    .slice(0, 3)
    .map((r) => `${r.target} (exit ${r.exit_code}: ${String((r.error?.message as string | undefined) ?? r.status)})`);
  const more = failing.length > 3 ? ` and ${failing.length - 3} more` : '';
  throw new FleetFailed(
    `${command}: ${failing.length} of ${results.length} targets did not end well: ${named.join('; ')}${more}; ${counts}.`,
    exitCode as ExitCode,
    { summary },
  );
}

/** status: how many targets stand at each newest applied id. */
function skew(results: readonly TargetResult[]): Record<string, number> {
  const byLatest: Record<string, number> = {};
  for (const r of results) if (r.latest !== undefined) byLatest[r.latest ?? '(none)'] = (byLatest[r.latest ?? '(none)'] ?? 0) + 1;
  return byLatest;
}

function humanTable(command: string, results: readonly TargetResult[]): string {
  const headers =
    command === 'status'
      ? ['target', 'schema', 'status', 'latest', 'pending', 'error']
      : ['target', 'schema', 'status', 'applied', 'ms', 'error'];
  const rows = results.map((r) => [
    r.target,
    r.schema ?? '',
    r.status,
    command === 'status' ? (r.latest ?? '') : String(r.applied.length),
    command === 'status' ? String(r.pending ?? '') : String(r.duration_ms),
    r.error ? String(r.error.message).slice(0, 100) : '',
  ]);
  return table(headers, rows);
}
