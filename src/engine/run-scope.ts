/**
 * What a run is given. `Job`: the configuration, the log, the signal, the same for every target.
 * `RunScope`: what one run works on — a session, its ledger, the tenant schema its files run in —
 * passed explicitly, so that a fleet target is a scope of its own, not a copy of the configuration.
 */
import type { Config } from '../config.js';
import type { LedgerName } from '../db/ledger.js';
import type { Session } from '../db/session.js';
import type { Logger } from '../log.js';
import type { Stop } from '../stop.js';

export interface Job {
  readonly config: Config;
  readonly log: Logger;
  readonly stop: Stop;
}

export interface RunScope {
  readonly session: Session;
  readonly ledger: LedgerName;
  /** a tenant schema the files run in, where its engine tables are (a fleet target); undefined = the role's search_path */
  readonly schema: string | undefined;
  readonly log: Logger;
  readonly stop: Stop;
}

/** The single-database run: the configured ledger, the role's own search_path. */
export function scopeOf(session: Session, job: Job): RunScope {
  return { session, ledger: job.config.ledger, schema: undefined, log: job.log, stop: job.stop };
}
