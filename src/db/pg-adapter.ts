/**
 * The one place that reaches into the `pg` driver's private internals (pg is pinned to an exact
 * version in package.json for this reason; test/integration/session.test.ts checks each use
 * against a real server). What we need and pg does not offer:
 *  - how many statements of a multi-statement simple query completed before one failed
 *    (a Query's handleCommandComplete runs once per CommandComplete message);
 *  - a simple query written from byte parts, so a large file is never copied into one string
 *    (a Query's submit(connection) writes its message to connection.stream);
 *  - the process id and secret key from BackendKeyData, for the protocol's CancelRequest;
 *  - libpq's sslmode=prefer: ask for TLS, and when the server answers 'N' go on in plain text on
 *    the same socket (pg's own Connection treats 'N' as an error), so no second connection.
 */
import pg from 'pg';

interface QueryInternals {
  callback: ((error: Error | null) => void) | undefined;
  submit(connection: { stream: WireStream }): Error | null;
}

interface WireStream {
  write(chunk: Buffer): boolean;
  cork?(): void;
  uncork?(): void;
}

/**
 * A simple query that counts its completed statements and keeps nothing else: pg's own Query
 * keeps a Result per statement (and every row), which for a seed file of a million INSERTs was
 * more memory than the file. A script's caller needs the count and the error only.
 */
class CountingQuery extends pg.Query {
  completed = 0;
  handleCommandComplete(): void {
    this.completed++;
  }
  handleDataRow(): void {
    // rows of a script's SELECTs are not wanted
  }
}

/** The 'Q' message written from its parts: a header, the parts as they are, the terminating 0. */
function writeSimpleQuery(stream: WireStream, parts: readonly Buffer[]): null {
  const header = Buffer.alloc(5);
  header[0] = 0x51; // 'Q', a simple query
  header.writeInt32BE(4 + parts.reduce((n, p) => n + p.length, 0) + 1, 1);
  stream.cork?.();
  stream.write(header);
  for (const part of parts) stream.write(part);
  stream.write(Buffer.from([0]));
  stream.uncork?.();
  return null;
}

/** The outcome of a script: how many statements completed, and the error that stopped it. */
export interface ScriptOutcome {
  readonly completed: number;
  readonly error: Error | undefined;
}

/** Runs `text` (or its UTF-8 parts) on `client` as one simple query. Never rejects. */
export function runSimpleQuery(client: pg.Client, text: string | readonly Buffer[]): Promise<ScriptOutcome> {
  const query = new CountingQuery(typeof text === 'string' ? text : '');
  const internals = query as unknown as QueryInternals;
  if (typeof text !== 'string') internals.submit = ({ stream }) => writeSimpleQuery(stream, text);
  return new Promise((resolve) => {
    // A submitted Query object is not a promise: completion arrives through its callback.
    internals.callback = (error) => resolve({ completed: query.completed, error: error ?? undefined });
    void client.query(query as unknown as pg.QueryConfig);
  });
}

/** What a CancelRequest for this client's session needs, once it is connected. */
export function cancelKey(client: pg.Client): { processId: number; secretKey: number } | undefined {
  const { processID, secretKey } = client as unknown as { processID: number | null; secretKey: number | null };
  return processID === null || secretKey === null ? undefined : { processId: processID, secretKey };
}

/** The parts of pg's Connection (lib/connection.js) that `connect` uses. */
interface ConnectionInternals {
  stream: NodeJS.EventEmitter & {
    connect(port: number, host: string): void;
    setNoDelay(on: boolean): void;
    setKeepAlive(on: boolean, delay: number): void;
    end(): void;
  };
  _connecting: boolean;
  _ending: boolean;
  _keepAlive: boolean;
  _keepAliveInitialDelayMillis: number;
  emit(event: string, ...args: unknown[]): boolean;
  attachListeners(stream: unknown): void;
  upgradeToSSL(host: string, reportStreamError: (error: NodeJS.ErrnoException) => void): void;
}

/**
 * A pg Connection that sends SSLRequest and, on 'S', does TLS as pg does; on 'N' it carries on
 * in plain text on the same socket, as libpq's sslmode=prefer does. pg's Connection.connect of
 * pg 8.23.1, with only the 'N' branch changed (client.js sends the startup packet on
 * 'sslconnect', whichever way the socket went).
 */
class PreferTlsConnection extends (pg.Connection as unknown as new (config: object) => object) {
  connect(port: number, host: string): void {
    const self = this as unknown as ConnectionInternals;
    self._connecting = true;
    self.stream.setNoDelay(true);
    self.stream.connect(port, host);
    self.stream.once('connect', () => {
      if (self._keepAlive) self.stream.setKeepAlive(true, self._keepAliveInitialDelayMillis);
      self.emit('connect');
    });
    const reportStreamError = (error: NodeJS.ErrnoException) => {
      if (self._ending && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return;
      self.emit('error', error);
    };
    self.stream.on('error', reportStreamError);
    self.stream.on('close', () => self.emit('end'));
    self.stream.once('data', (buffer: Buffer) => {
      const answer = buffer.toString('utf8', 0, 1);
      if (answer === 'S') return self.upgradeToSSL(host, reportStreamError);
      if (answer === 'N' && buffer.length === 1) {
        self.attachListeners(self.stream);
        self.emit('sslconnect');
        return;
      }
      self.stream.end();
      // libpq's words, with the byte that came back: an HTTP server answers 'H'
      self.emit('error', new Error(`invalid response to SSL negotiation: ${JSON.stringify(answer).slice(1, -1)}`));
    });
  }
}

/** A connection for pg.Client's `connection` option: TLS when the server offers it, plain text when not. */
export function preferTlsConnection(ssl: object, keepAliveInitialDelayMillis: number): unknown {
  return new PreferTlsConnection({ ssl, keepAlive: true, keepAliveInitialDelayMillis, encoding: 'utf8' });
}

/** Whether the session's socket is encrypted (pg replaces the socket with a TLS one on upgrade). */
export function isEncrypted(client: pg.Client): boolean {
  const { connection } = client as unknown as { connection: { stream: { encrypted?: boolean } } };
  return connection.stream.encrypted === true;
}

/**
 * Calls `listener` with a setting the server reports at login (ParameterStatus), such as
 * server_version: pg keeps these to itself, but its Connection emits each one. No round trip.
 */
export function onServerParameter(client: pg.Client, name: string, listener: (value: string) => void): void {
  const { connection } = client as unknown as { connection?: NodeJS.EventEmitter };
  connection?.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
    if (msg.parameterName === name) listener(msg.parameterValue);
  });
}
