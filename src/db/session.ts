/**
 * One connection to PostgreSQL. Every round trip goes through here, so it is counted, and every
 * way a connection can die (an 'error' event while idle included) becomes an ordinary rejection.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import type { ConnectionTarget } from '../target.js';
import { tokenPassword } from '../auth/token.js';
import { cancelKey, isEncrypted, onServerParameter, preferTlsConnection, runSimpleQuery } from './pg-adapter.js';

export type Row = object;

/** Thrown by `script` when a statement of the script fails. */
export class ScriptFailure extends Error {
  constructor(
    /** the server's (or the connection's) error */
    readonly error: Error,
    /** statements that completed before the failing one */
    readonly completed: number,
  ) {
    super(error.message);
    this.name = 'ScriptFailure';
  }
}

export class Session {
  /**
   * Set as the session variable xyn.session on writable sessions: a statement that finds
   * another value is running on a server connection that is not ours (a transaction pooler).
   */
  readonly token = randomBytes(8).toString('hex');
  /** set when the connection broke while nothing was running */
  private broken: Error | undefined;
  private throughPooler: boolean | undefined;
  /** The server's version (`server_version`), as it reported it at login: no round trip. */
  serverVersion: string | undefined;
  /**
   * `standard_conforming_strings` (on/off), as reported at login and after every change (a
   * reported setting): no round trip. Off, plain '…' strings take backslash escapes.
   */
  standardConformingStrings: string | undefined;

  private constructor(
    private readonly client: pg.Client,
    readonly target: ConnectionTarget,
  ) {
    client.on('error', (error) => {
      this.broken = error;
    });
    onServerParameter(client, 'server_version', (value) => (this.serverVersion = value));
    onServerParameter(client, 'standard_conforming_strings', (value) => (this.standardConformingStrings = value));
  }

  /**
   * Connects as libpq does for the target's sslmode: `prefer` asks for TLS and goes on in plain
   * text on the same socket when the server declines; `allow` starts in plain text. Either
   * connects once more, the other way, only when pg_hba.conf refuses the way it tried first.
   */
  static async open(target: ConnectionTarget, connectTimeoutMs: number): Promise<Session> {
    switch (target.sslMode) {
      case 'prefer':
        return Session.connect(target, connectTimeoutMs, 'prefer').catch((error: unknown) => {
          if (!refusedFor(error, 'TLS')) throw error;
          return Session.connect(target, connectTimeoutMs, 'plain');
        });
      case 'allow':
        return Session.connect(target, connectTimeoutMs, 'plain').catch((error: unknown) => {
          if (!refusedFor(error, 'plain text')) throw error;
          return Session.connect(target, connectTimeoutMs, 'tls');
        });
      case 'disable':
        return Session.connect(target, connectTimeoutMs, 'plain');
      default:
        return Session.connect(target, connectTimeoutMs, 'tls');
    }
  }

  private static async connect(target: ConnectionTarget, connectTimeoutMs: number, transport: Transport): Promise<Session> {
    const client = new pg.Client(clientConfig(target, connectTimeoutMs, transport));
    const session = new Session(client, target);
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    return session;
  }

  /** Whether this session's connection is encrypted with TLS. */
  get encrypted(): boolean {
    return isEncrypted(this.client);
  }

  /** The process id the server (or a pooler in its place) announced at startup, in BackendKeyData. */
  get announcedPid(): number | null {
    return cancelKey(this.client)?.processId ?? null;
  }

  /**
   * Records the server's own pg_backend_pid(): a pooler announces a process id of its own
   * making, a direct connection the server's (see pooler.ts).
   */
  noteBackendPid(pid: number): void {
    this.throughPooler = pid !== this.announcedPid;
  }

  /** True when a connection pooler stands between us and PostgreSQL; known once writability was probed. */
  get pooled(): boolean {
    return this.throughPooler ?? false;
  }

  /** True once writability was probed and no pooler stands between us: a server session of our own, marked ours. */
  get direct(): boolean {
    return this.throughPooler === false;
  }

  async query<T extends Row = Row>(text: string, values?: readonly unknown[]): Promise<T[]> {
    if (this.broken) throw this.broken;
    const result = await this.client.query<T>(text, values as unknown[] | undefined);
    return result.rows;
  }

  /**
   * Runs `text` (or its UTF-8 parts) as one simple query (many statements, one round trip). On
   * failure rejects with a ScriptFailure saying how many statements completed, which locates the
   * failing one.
   */
  async script(text: string | readonly Buffer[]): Promise<void> {
    if (this.broken) throw this.broken;
    const { completed, error } = await runSimpleQuery(this.client, text);
    if (error) throw new ScriptFailure(error, completed);
  }

  /**
   * Asks the server to cancel whatever this session is running, with the protocol's
   * CancelRequest on a separate socket (no login, no connection slot). Closing our own socket
   * would leave the statement running on the server.
   */
  cancel(): Promise<void> {
    const key = cancelKey(this.client);
    if (key === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const isSocketPath = this.target.host.startsWith('/');
      const socket = isSocketPath
        ? tcpConnect(`${this.target.host}/.s.PGSQL.${this.target.port}`)
        : tcpConnect(this.target.port, this.target.host);
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(key.processId, 8);
      packet.writeInt32BE(key.secretKey, 12);
      socket.setTimeout(2000, () => socket.destroy());
      socket.on('connect', () => socket.end(packet));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }

  /**
   * Says goodbye (Terminate, written at once) without waiting for the server to close the socket:
   * that wait cost every run a few milliseconds before exit and gains nothing, since the session
   * and anything it holds end on the server either way.
   */
  async close(): Promise<void> {
    const ended = this.client.end().catch(() => undefined);
    await Promise.race([ended, new Promise((resolve) => setImmediate(resolve))]);
  }
}

type Transport = 'plain' | 'tls' | 'prefer';

const KEEPALIVE_DELAY_MS = 10_000;

/** The pg client settings for one connection to `target`. */
function clientConfig(target: ConnectionTarget, connectTimeoutMs: number, transport: Transport): pg.ClientConfig {
  const ssl = transport === 'plain' ? false : target.ssl;
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    // a token mode's token is obtained when the server asks for a password (a trust login asks none)
    password: target.auth ? tokenPassword(target.auth, { host: target.host, port: target.port, user: target.user ?? '' }) : target.password,
    database: target.database,
    ssl,
    ...(transport === 'prefer' && ssl ? { connection: preferTlsConnection(ssl, KEEPALIVE_DELAY_MS) as pg.Connection } : {}),
    application_name: 'xyn-migrate',
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
  };
}

/**
 * pg_hba.conf refused the connection for the way it was made (28000: "no pg_hba.conf entry …,
 * no encryption", or "…, SSL encryption"; a `reject` line says "pg_hba.conf rejects connection").
 */
function refusedFor(error: unknown, tried: 'TLS' | 'plain text'): boolean {
  const db = serverError(error);
  if (db?.code !== '28000') return false;
  return tried === 'TLS' ? /SSL encryption|SSL on\b/.test(db.message) : /no encryption|SSL off\b/.test(db.message);
}

/** The fields of a PostgreSQL error response (pg's DatabaseError), when there is one. */
export interface ServerError {
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly position?: string;
  readonly where?: string;
}

export function serverError(error: unknown): ServerError | undefined {
  if (error instanceof ScriptFailure) return serverError(error.error);
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') return error as ServerError;
  return undefined;
}
