/**
 * Waiting for PostgreSQL: each attempt opens a fresh connection (after a failover the primary is
 * another server, and read-only settings change only for new sessions), retries what heals with
 * backoff and jitter until the deadline, and fails at once on what will not heal.
 */
import { connect } from 'node:net';
import { ConnectError } from '../errors.js';
import type { Logger } from '../log.js';
import { serverError, Session, sessionIsGone } from './session.js';
import { atHost, type ConnectionTarget } from '../target.js';
import { sleep, type Stop } from '../stop.js';
import { backoff } from './backoff.js';
import { markSessionSql } from './pooler.js';
import { AuthError } from '../auth/errors.js';
import { tokenRefused } from '../auth/token.js';

export type Verdict = { readonly kind: 'transient'; readonly reason: string } | { readonly kind: 'fatal'; readonly reason: string };

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT',
]);
const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Which connection errors are worth waiting out. */
function classifyConnectError(error: unknown, target: ConnectionTarget): Verdict {
  const db = serverError(error);
  if (db) {
    switch (db.code) {
      case '28P01':
      case '28000':
        if (target.auth) return { kind: 'fatal', reason: tokenRefused(target.auth, target.user ?? '', db) };
        return {
          kind: 'fatal',
          reason: `authentication failed for user "${target.user ?? ''}" (${db.code}): check the user and password in ${target.credentialsFrom}`,
        };
      case '3D000':
        return { kind: 'fatal', reason: `database "${target.database ?? ''}" does not exist (3D000): create it or fix the database name` };
      case '57P03':
        return { kind: 'transient', reason: `the server is starting up or shutting down (57P03)` };
      case '53300':
        return { kind: 'transient', reason: `too many connections (53300)` };
      case '25006':
        return { kind: 'transient', reason: 'the database is read-only (25006)' };
      default:
        if (sessionIsGone(db)) return { kind: 'transient', reason: `${db.message} (${db.code})` };
        return { kind: 'fatal', reason: `${db.message} (${db.code})` };
    }
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (TLS_VERIFY_CODES.has(code)) {
    return {
      kind: 'fatal',
      reason: `TLS certificate verification failed (${code}: ${message}); check sslrootcert and the host name, or sslmode`,
    };
  }
  // The answer to our SSLRequest was neither S nor N (pg's own words for require, ours for prefer)
  if (/invalid response to SSL negotiation|error establishing an SSL connection/i.test(message)) {
    const byte = /negotiation: (.*)$/.exec(message)?.[1];
    return {
      kind: 'fatal',
      reason: `the service at ${target.host}:${target.port} is not PostgreSQL: it answered the TLS request with ${byte ? `"${byte}"` : 'something else'} (psql: "invalid response to SSL negotiation"); check the port`,
    };
  }
  if (/does not support SSL/i.test(message)) {
    return { kind: 'fatal', reason: `the server does not support TLS but sslmode=${target.sslMode} requires it` };
  }
  if (TRANSIENT_NODE_CODES.has(code)) return { kind: 'transient', reason: `${code} connecting to ${target.host}:${target.port}` };
  if (isLostConnection(error)) return { kind: 'transient', reason: message };
  return { kind: 'fatal', reason: message };
}

/** An error with no SQLSTATE that says the socket broke (a reset, a timeout, the server gone), not a bug of ours. */
export function isLostConnection(error: unknown): boolean {
  if (TRANSIENT_NODE_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '')) return true;
  return /timeout|terminated|closed|reset/i.test(error instanceof Error ? error.message : String(error));
}

const WAITING = 'stopped while waiting for PostgreSQL; nothing was applied';

export interface WaitOptions {
  readonly deadlineMs: number;
  readonly requireWritable: boolean;
  readonly log: Logger;
  readonly stop: Stop;
}

/** Opens a session, waiting until PostgreSQL accepts us (and is writable, when asked). */
export async function waitForDatabase(target: ConnectionTarget, options: WaitOptions): Promise<Session> {
  const started = Date.now();
  const deadline = started + options.deadlineMs;
  let lastReason = 'no attempt finished';
  const announcement = new WaitAnnouncement(target, options);
  for (let attempt = 1; ; attempt++) {
    options.stop.throwIfStopped(WAITING);
    const remaining = deadline - Date.now();
    const verdict = await announcement.during(attemptHosts(target, options, Math.max(1000, Math.min(remaining, 10_000))));
    if (verdict instanceof Session) {
      // With several hosts, say which one answered.
      if (attempt > 1 || target.hosts.length > 1)
        options.log.info({ attempt, waitedMs: Date.now() - started, host: verdict.target.display }, 'PostgreSQL is ready');
      return verdict;
    }
    lastReason = verdict.reason;
    if (verdict.kind === 'fatal') {
      throw new ConnectError(`Cannot use PostgreSQL at ${target.display}: ${verdict.reason}.`, { target: target.display });
    }
    const delay = Math.min(backoff(attempt), deadline - Date.now());
    if (delay <= 0) break;
    announcement.say();
    options.log.info({ attempt, reason: verdict.reason, retryInMs: delay, target: target.display }, 'waiting for PostgreSQL');
    await sleep(delay, options.stop, WAITING);
  }
  throw new ConnectError(
    `PostgreSQL at ${target.display} was not ready within ${options.deadlineMs / 1000}s (XYN_WAIT_TIMEOUT): ${lastReason}.`,
    { target: target.display },
  );
}

/** Before the first answer is a second old, a person is told what is awaited and until when. */
const ANNOUNCE_AFTER_MS = 1000;
/** An attempt still unanswered this long is looked at: is anything listening at all? */
const SILENCE_AFTER_MS = 3000;

/**
 * What a person waiting is told: the first line, within a second, says what is awaited and the
 * deadline; an attempt unanswered for a few seconds on a port that accepts TCP connections is
 * said (a busy server, a silent service, or a proxy with no server behind it), instead of silence.
 */
class WaitAnnouncement {
  private said = false;
  constructor(
    private readonly target: ConnectionTarget,
    private readonly options: WaitOptions,
  ) {}

  /** The line, once: "waiting up to 60 s for PostgreSQL at host:port/db to accept connections…". */
  say(): void {
    if (this.said) return;
    this.said = true;
    const what = this.options.requireWritable ? 'to accept connections and be writable' : 'to accept connections';
    const seconds = this.options.deadlineMs / 1000;
    this.options.log.info(
      { target: this.target.display, waitTimeoutS: seconds },
      `waiting up to ${seconds} s (XYN_WAIT_TIMEOUT) for PostgreSQL at ${this.target.display} ${what}…`,
    );
  }

  async during<T>(attempt: Promise<T>): Promise<T> {
    const announce = setTimeout(() => this.say(), ANNOUNCE_AFTER_MS);
    const silence = setTimeout(() => void this.reportSilence(), SILENCE_AFTER_MS);
    try {
      return await attempt;
    } finally {
      clearTimeout(announce);
      clearTimeout(silence);
    }
  }

  private async reportSilence(): Promise<void> {
    const { host, port } = this.target;
    if (!(await acceptsTcp(host, port))) return;
    // info, not warn: a server merely slow to answer (a loaded machine) looks the same for a while
    this.options.log.info(
      { target: this.target.display },
      `${host}:${port} accepts TCP connections but has not answered for ${SILENCE_AFTER_MS / 1000} s: a busy server, a service that is not PostgreSQL, or a proxy with no server behind it; still waiting`,
    );
  }
}

/** Whether something accepts a TCP connection at host:port (closed at once). */
function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (accepted: boolean) => (socket.destroy(), resolve(accepted));
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * One wait attempt: the target's hosts in order, as libpq does, each with its own connect
 * timeout (a dead first host costs only that); the first that accepts us (and is writable, when
 * asked) wins. Fatal only when every host said something that waiting will not heal.
 */
async function attemptHosts(target: ConnectionTarget, options: WaitOptions, connectTimeoutMs: number): Promise<Session | Verdict> {
  if (target.hosts.length === 1) return attemptConnection(target, options, connectTimeoutMs);
  const verdicts: { host: string; verdict: Verdict }[] = [];
  for (const endpoint of target.hosts) {
    options.stop.throwIfStopped(WAITING);
    const one = atHost(target, endpoint);
    const result = await attemptConnection(one, options, connectTimeoutMs);
    if (result instanceof Session) return result;
    verdicts.push({ host: one.display, verdict: result });
  }
  return {
    kind: verdicts.every((v) => v.verdict.kind === 'fatal') ? 'fatal' : 'transient',
    reason: verdicts.map((v) => `${v.host}: ${v.verdict.reason}`).join('; '),
  };
}

async function attemptConnection(target: ConnectionTarget, options: WaitOptions, connectTimeoutMs: number): Promise<Session | Verdict> {
  let session: Session | undefined;
  try {
    session = await Session.open(target, connectTimeoutMs);
    const unsupported = unsupportedServer(session.serverVersion);
    if (unsupported) {
      await session.close();
      return { kind: 'fatal', reason: unsupported };
    }
    if (!options.requireWritable) return session;
    // One round trip: writability, whether a pooler stands between us (pooler.ts), and — on a
    // direct session only, since a pooled server session is shared — our session mark and
    // (PostgreSQL 14+) a periodic check that we are still there, so a statement whose client died
    // (killed runner, dropped connection) is aborted and rolled back instead of running on.
    const direct = 'pg_backend_pid() = $2::int';
    const [state] = await session.query<{ in_recovery: boolean; read_only: string; pid: number }>(
      `SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') AS read_only, pg_backend_pid() AS pid,
              ${markSessionSql('$1', direct)},
              CASE WHEN ${direct} AND current_setting('server_version_num')::int >= 140000 THEN set_config('client_connection_check_interval', '1000', false) END`,
      [session.token, session.announcedPid],
    );
    if (state) session.noteBackendPid(state.pid);
    if (state?.in_recovery) return notReady(session, 'the server is a standby in recovery, not a writable primary');
    if (state?.read_only === 'on') return notReady(session, 'the database is read-only (default_transaction_read_only is on)');
    return session;
  } catch (error) {
    await session?.close();
    // no token could be had: a configuration error (exit 2), or an endpoint to wait for
    if (error instanceof AuthError) {
      if (!error.transient) throw error;
      return { kind: 'transient', reason: error.message };
    }
    return classifyConnectError(error, target);
  }
}

/** The PostgreSQL majors this program supports, each tested (docs/commands.md, "Supported PostgreSQL"). */
export const SUPPORTED_MAJORS = { oldest: 14, newest: 18 } as const;

/**
 * A server older than the oldest supported major is refused before anything is read or written:
 * the catalog queries, the settings and the SQL this program sends were never tested there. A
 * newer one is used (each major keeps the catalog columns these queries read).
 */
export function unsupportedServer(serverVersion: string | undefined): string | undefined {
  const version = serverVersion?.split(' ')[0];
  const major = Number.parseInt(version ?? '', 10);
  if (!(major < SUPPORTED_MAJORS.oldest)) return undefined; // unknown (NaN) or supported
  return `PostgreSQL ${version} is not supported: xyn-migrate supports PostgreSQL ${SUPPORTED_MAJORS.oldest} to ${SUPPORTED_MAJORS.newest}, each tested; upgrade the server`;
}

async function notReady(session: Session, reason: string): Promise<Verdict> {
  await session.close();
  return { kind: 'transient', reason };
}
