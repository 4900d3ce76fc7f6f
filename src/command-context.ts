/** What every command is given, single-database or fleet: the job, and where its output goes. */
import type { Job } from './engine/run-scope.js';
import type { Progress } from './progress.js';

export interface CommandContext extends Job {
  /** writes results to stdout */
  readonly print: (text: string) => void;
  readonly stdoutIsTerminal: boolean;
  /** live progress on stderr when it is a terminal */
  readonly progress: () => Progress;
  /** one line on stderr, redrawn in place at a terminal; nothing elsewhere (the fleet's progress) */
  readonly progressLine: (text: string) => void;
}

/** A table for a person (a terminal, or pretty logs); structured log lines otherwise. */
export function outputIsForAPerson(ctx: CommandContext): boolean {
  return ctx.stdoutIsTerminal || ctx.config.logFormat === 'pretty';
}
