/**
 * One connection to PostgreSQL. Every round trip goes through here, so it is counted, and every
 * way a connection can die (an 'error' event while idle included) becomes an ordinary rejection.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import type { ConnectionTarget } from './target.js';
import { clientConfig } from './target.js';

export type Row = object;

/** A multi-statement simple query that also counts how many statements completed. */
interface QueryInternals {
  handleCommandComplete(msg: unknown, connection: unknown): void;
}
class CountingQuery extends pg.Query {
  completed = 0;
  // pg calls this once per CommandComplete message: once per statement of a simple query.
  handleCommandComplete(msg: unknown, connection: unknown): void {
    this.completed++;
    (pg.Query.prototype as unknown as QueryInternals).handleCommandComplete.call(this, msg, connection);
  }
}

/** Thrown by `script` when a statement of the script fails. */
export interface ScriptFailure {
  readonly error: Error;
  /** statements that completed before the failing one */
  readonly completed: number;
}

interface WireStream {
  write(chunk: Buffer): boolean;
  cork?(): void;
  uncork?(): void;
}

/**
 * A simple query written from its byte parts: a large migration goes out from its own bytes,
 * never first copied into one string and then into the driver's message buffer.
 */
class PartsQuery extends CountingQuery {
  constructor(parts: readonly Buffer[]) {
    super('');
    // pg sends a query through its submit(connection); this one writes the message itself.
    (this as unknown as { submit: (connection: { stream: WireStream }) => null }).submit = ({ stream }) => {
      const header = Buffer.alloc(5);
      header[0] = 0x51; // 'Q', a simple query
      header.writeInt32BE(4 + parts.reduce((n, p) => n + p.length, 0) + 1, 1);
      stream.cork?.();
      stream.write(header);
      for (const part of parts) stream.write(part);
      stream.write(Buffer.from([0]));
      stream.uncork?.();
      return null;
    };
  }
}

export class Session {
  roundTrips = 0;
  /**
   * Set as the session variable xyn.session on writable sessions: a statement that finds
   * another value is running on a server connection that is not ours (a transaction pooler).
   */
  readonly token = randomBytes(8).toString('hex');
  /** set when the connection broke while nothing was running */
  private broken: Error | undefined;
  /** The server's version (`server_version`), as it reported it at login: no round trip. */
  serverVersion: string | undefined;

  private constructor(
    private readonly client: pg.Client,
    readonly target: ConnectionTarget,
  ) {
    client.on('error', (error) => {
      this.broken = error;
    });
    // pg keeps the login's ParameterStatus messages to itself; its Connection emits each one.
    const { connection } = client as unknown as { connection?: NodeJS.EventEmitter };
    connection?.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      if (msg.parameterName === 'server_version') this.serverVersion = msg.parameterValue;
    });
  }

  static async open(target: ConnectionTarget, connectTimeoutMs: number): Promise<Session> {
    const client = new pg.Client(clientConfig(target, connectTimeoutMs));
    const session = new Session(client, target);
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    return session;
  }

  /** The server process serving this session. */
  get pid(): number {
    return (this.client as unknown as { processID: number }).processID;
  }

  async query<T extends Row = Row>(text: string, values?: readonly unknown[]): Promise<T[]> {
    if (this.broken) throw this.broken;
    this.roundTrips++;
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
    this.roundTrips++;
    const query = typeof text === 'string' ? new CountingQuery(text) : new PartsQuery(text);
    await new Promise<void>((resolve, reject) => {
      // A submitted Query object is not a promise: completion arrives through its callback.
      (query as unknown as { callback: (error: Error | null) => void }).callback = (error) => {
        if (error) reject({ error, completed: query.completed } satisfies ScriptFailure);
        else resolve();
      };
      this.client.query(query as unknown as pg.QueryConfig);
    });
  }

  /**
   * Asks the server to cancel whatever this session is running, with the protocol's
   * CancelRequest on a separate socket (no login, no connection slot). Closing our own socket
   * would leave the statement running on the server.
   */
  cancel(): Promise<void> {
    const { processID, secretKey } = this.client as unknown as { processID: number | null; secretKey: number | null };
    if (processID === null || secretKey === null) return Promise.resolve();
    return new Promise((resolve) => {
      const isSocketPath = this.target.host.startsWith('/');
      const socket = isSocketPath
        ? tcpConnect(`${this.target.host}/.s.PGSQL.${this.target.port}`)
        : tcpConnect(this.target.port, this.target.host);
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(processID, 8);
      packet.writeInt32BE(secretKey, 12);
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

export function isScriptFailure(value: unknown): value is ScriptFailure {
  return typeof value === 'object' && value !== null && 'completed' in value && 'error' in value;
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
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') return error as ServerError;
  return undefined;
}
