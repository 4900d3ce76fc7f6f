/**
 * Applying many files, each commit need not wait for its own fsync: the files' commits are made
 * with synchronous_commit off, and one synchronous commit at the end flushes the WAL up to it —
 * and so every earlier commit — before the job can exit 0.
 *
 * Why this is safe: a migration and its ledger row are one transaction, so a server crash can
 * only lose whole, most recent (migration + row) units; the ledger then says they are pending and
 * the next run applies them again. Nothing is reported applied (exit 0) before the flush.
 */
import pg from 'pg';
import type { Session } from './session.js';

export async function deferCommitFlushes(session: Session): Promise<string> {
  const [row] = await session.query<{ original: string }>(
    `SELECT current_setting('synchronous_commit') AS original, set_config('synchronous_commit', 'off', false)`,
  );
  return row!.original;
}

/** A transaction with an xid, committed with the original setting: it flushes all WAL before it. */
export async function flushCommits(session: Session, original: string): Promise<void> {
  await session.script(`SET synchronous_commit = ${pg.escapeLiteral(original)}; SELECT txid_current()`);
}
