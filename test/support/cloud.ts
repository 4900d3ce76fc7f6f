/**
 * Loopback stand-ins for the clouds, for XYN_AUTH's tests: one HTTP server on 127.0.0.1 that
 * answers as STS (AssumeRoleWithWebIdentity), the EKS Pod Identity agent, EC2's instance metadata
 * service (IMDSv2), Google's metadata server and token endpoint, Microsoft Entra ID's token
 * endpoint and Azure's instance metadata service; and a fake managed server: a TLS front on
 * 127.0.0.1 that asks for the password in clear text, as RDS, Cloud SQL and Azure do for their
 * token logins, lets the test check the token, sets the role's password to it and passes the
 * connection on to the test PostgreSQL. (PostgreSQL itself reads a role's SCRAM verifier when a
 * login starts, before the client has sent anything: a token set as the password while the
 * client was asking for it would come too late for that login.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { presignQuery } from '../../src/auth/sigv4.js';

export interface StandInRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Answer = { readonly status?: number; readonly json?: unknown; readonly text?: string } | undefined;

export interface StandIn {
  readonly url: string;
  /** host:port, as GCE_METADATA_HOST takes it */
  readonly hostPort: string;
  readonly requests: StandInRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 only; `answer` gets each request (404 when it returns undefined). */
export async function standIn(answer: (request: StandInRequest) => Promise<Answer> | Answer): Promise<StandIn> {
  const requests: StandInRequest[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(request);
      void Promise.resolve(answer(request)).then(
        (reply) => {
          const status = reply?.status ?? (reply ? 200 : 404);
          const body = reply?.json !== undefined ? JSON.stringify(reply.json) : (reply?.text ?? '');
          res.writeHead(status, { 'content-type': reply?.json !== undefined ? 'application/json' : 'text/plain' }).end(body);
        },
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A self-signed certificate for DNS:localhost, and its key: the fake RDS's, and the CA file the client verifies it with. */
export function localhostCertificate(): { cert: string; key: string; caFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'xyn-fake-rds-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
    ].concat(['-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']),
    { cwd: dir, stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    caFile: join(dir, 'cert.pem'),
  };
}

export interface IssuedAwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/**
 * Whether `token` is an RDS IAM token for `user` at localhost:`port`, signed now (within a minute)
 * in `region` with one of `issued`: the signature is recomputed with that secret key.
 */
export function validRdsToken(token: string, user: string, port: number, region: string, issued: readonly IssuedAwsCredentials[]): boolean {
  const prefix = `localhost:${port}/?`;
  if (!token.startsWith(prefix)) return false;
  const params = new URLSearchParams(token.slice(prefix.length));
  const credential = params.get('X-Amz-Credential') ?? '';
  const keys = issued.find((c) => credential.startsWith(`${c.accessKeyId}/`) && params.get('X-Amz-Security-Token') === c.sessionToken);
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!keys || params.get('Action') !== 'connect' || params.get('DBUser') !== user || Math.abs(Date.now() - signedAt) > 60_000)
    return false;
  if (!credential.endsWith(`/${region}/rds-db/aws4_request`) || params.get('X-Amz-Expires') !== '900') return false;
  const expected = presignQuery(
    {
      host: `localhost:${port}`,
      path: '/',
      query: { Action: 'connect', DBUser: user },
      service: 'rds-db',
      region,
      expiresInSeconds: 900,
      now: new Date(signedAt),
    },
    keys,
  );
  return token === `${prefix}${expected}`;
}

export interface ManagedServer {
  readonly port: number;
  /** the passwords clients sent, in order */
  readonly passwords: string[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;

/**
 * On each connection: TLS, the startup message, AuthenticationCleartextPassword; then `check`
 * decides on the password (and, accepting, makes it the role's password); refused, the client
 * gets 28P01 with the refusal `check` gave; accepted, the startup goes on
 * to the test PostgreSQL, which asks for the same password again (SCRAM), and the bytes flow
 * both ways.
 */
export async function managedServer(
  upstreamPort: number,
  tls: { cert: string; key: string },
  /** undefined to let the login go on; or the server's refusal, e.g. RDS's `PAM authentication failed for user "u"` */
  check: (password: string, user: string) => Promise<string | undefined>,
): Promise<ManagedServer> {
  const passwords: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => undefined);
    raw.once('data', (request: Buffer) => {
      if (request.length !== 8 || request.readInt32BE(4) !== SSL_REQUEST) {
        raw.destroy(); // RDS with IAM wants TLS
        return;
      }
      raw.write('S');
      const secure = new TLSSocket(raw, { isServer: true, cert: tls.cert, key: tls.key });
      secure.on('error', () => undefined);
      void login(secure);
    });
  });
  const login = async (client: TLSSocket) => {
    const read = reader(client);
    const startupLength = (await read(4)).readInt32BE(0);
    const startupBody = await read(startupLength - 4);
    const fields = startupBody.subarray(4).toString('utf8').split('\0');
    const user = fields[fields.indexOf('user') + 1] ?? '';
    client.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // R: AuthenticationCleartextPassword
    const header = await read(5);
    if (header[0] !== 0x70) return void client.destroy(); // not a PasswordMessage: the client gave up (Terminate)
    const password = (await read(header.readInt32BE(1) - 4)).toString('utf8').replace(/\0$/, '');
    passwords.push(password);
    const refusal = await check(password, user);
    if (refusal !== undefined) {
      const fieldsOf = ['SFATAL', 'VFATAL', 'C28P01', `M${refusal}`].map((f) => `${f}\0`).join('') + '\0';
      const message = Buffer.from(fieldsOf, 'utf8');
      const error = Buffer.alloc(5);
      error.write('E');
      error.writeInt32BE(message.length + 4, 1);
      client.end(Buffer.concat([error, message]));
      return;
    }
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const startup = Buffer.alloc(4);
    startup.writeInt32BE(startupLength, 0);
    upstream.write(Buffer.concat([startup, startupBody]));
    read.release(upstream);
    upstream.pipe(client);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    passwords,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads exact byte counts from a socket; `release` hands what follows to another socket. */
function reader(socket: TLSSocket): ((n: number) => Promise<Buffer>) & { release(to: Socket): void } {
  let buffer = Buffer.alloc(0);
  let waiting: { n: number; resolve: (b: Buffer) => void } | undefined;
  const onData = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (waiting && buffer.length >= waiting.n) {
      const { n, resolve } = waiting;
      waiting = undefined;
      const out = buffer.subarray(0, n);
      buffer = buffer.subarray(n);
      resolve(out);
    }
  };
  socket.on('data', onData);
  const read = (n: number) =>
    new Promise<Buffer>((resolve) => {
      waiting = { n, resolve };
      onData(Buffer.alloc(0));
    });
  return Object.assign(read, {
    release(to: Socket) {
      socket.off('data', onData);
      if (buffer.length > 0) to.write(buffer);
      socket.pipe(to);
    },
  });
}

/** Writes `text` to a new file and returns its path (a projected token, a credentials file). */
export function tokenFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
