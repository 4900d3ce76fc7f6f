/**
 * Live progress for a person at a terminal: once a migrate has run for a second, one line on
 * stderr, redrawn in place — file n of N, its name, how long it has been running, and (for a
 * no-transaction file that is slow) the statement running. Off a terminal nothing is animated:
 * the log has one line per file instead.
 */
import { printable } from './printable.js';

export interface Progress {
  file(n: number, total: number, id: string): void;
  readonly statement: (text: string) => void;
  /** clears the line; the summary is the log's job */
  done(): void;
}

export const noProgress: Progress = { file: () => undefined, statement: () => undefined, done: () => undefined };

const SHOW_AFTER_MS = 1000;
const SLOW_STATEMENT_MS = 2000;

export function terminalProgress(write: (text: string) => void, columns: number): Progress {
  const started = Date.now();
  let current: { n: number; total: number; id: string; since: number; statement?: string } | undefined;
  let drawn = false;
  const draw = () => {
    if (!current || Date.now() - started < SHOW_AFTER_MS) return;
    const elapsed = ((Date.now() - current.since) / 1000).toFixed(1);
    const slow = current.statement && Date.now() - current.since > SLOW_STATEMENT_MS ? ` — ${current.statement}` : '';
    write(`\r\x1b[2K${`[${current.n}/${current.total}] ${current.id} ${elapsed}s${slow}`.slice(0, Math.max(20, columns - 1))}`);
    drawn = true;
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  return {
    file: (n, total, id) => {
      current = { n, total, id, since: Date.now() };
      draw();
    },
    statement: (text) => {
      // a file's text may hold control characters (an escape sequence) that would drive the terminal
      if (current) current.statement = printable(text.split('\n')[0]!.trim());
    },
    done: () => {
      clearInterval(timer);
      if (drawn) write('\r\x1b[2K');
    },
  };
}
