/**
 * Runs one piece of work per target, at most `concurrency` at once, in list order; the canary's
 * targets first. A failing target does not stop the others; a failing canary, or a signal, stops
 * new ones from starting (they are reported `skipped`). Memory stays flat in the number of
 * targets: what a finished target leaves behind is its result, nothing more.
 */
import type { Stop } from '../stop.js';
import type { Target } from './targets.js';

/** migrate: applied | up-to-date; verify: up-to-date; status: up-to-date | behind | needs-attention; any: failed | skipped */
export type TargetStatus = 'applied' | 'up-to-date' | 'behind' | 'needs-attention' | 'failed' | 'skipped';

export interface TargetResult {
  readonly target: string;
  readonly schema: string | null;
  readonly status: TargetStatus;
  readonly exit_code: number | null;
  readonly applied: readonly string[];
  readonly duration_ms: number;
  readonly error: Record<string, unknown> | null;
  /** status: the newest applied id, and how many files are pending */
  readonly latest?: string | null;
  readonly pending?: number;
}

export interface PoolOptions {
  readonly concurrency: number;
  readonly canary: number;
  readonly stop: Stop;
  /** told of each finished target, for progress and its log line */
  readonly onResult: (result: TargetResult, done: number, total: number) => void;
}

/** `work` gets its worker's number (a worker may keep a session for the next target on the same database). */
export type Work = (target: Target, worker: number) => Promise<TargetResult>;

export async function forEachTarget(targets: readonly Target[], work: Work, options: PoolOptions): Promise<TargetResult[]> {
  const results: (TargetResult | undefined)[] = new Array<TargetResult | undefined>(targets.length);
  let done = 0;
  const finish = (index: number, result: TargetResult) => {
    results[index] = result;
    options.onResult(result, ++done, targets.length);
  };
  const runRange = async (from: number, to: number) => {
    let next = from;
    const worker = async (n: number) => {
      while (next < to && !options.stop.stopped) {
        const index = next++;
        finish(index, await work(targets[index]!, n));
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, to - from) }, (_, n) => worker(n)));
  };
  const canary = Math.min(options.canary, targets.length);
  if (canary > 0) await runRange(0, canary);
  const canaryFailed = results.slice(0, canary).some((r) => r?.status === 'failed');
  if (!canaryFailed) await runRange(canary, targets.length);
  // A canary target stopped by the signal failed because of the signal, not on its own.
  const why = options.stop.stopped ? 'stopped by a signal' : 'a canary target failed';
  return targets.map((target, index) => results[index] ?? skipped(target, why));
}

function skipped(target: Target, why: string): TargetResult {
  return {
    target: target.name,
    schema: target.schema ?? null,
    status: 'skipped',
    exit_code: null,
    applied: [],
    duration_ms: 0,
    error: { message: `not started: ${why}` },
  };
}
