/**
 * A TCP proxy in front of the test PostgreSQL: it can start listening late (a database that
 * comes up after the runner), count the protocol messages clients send (round trips), cut
 * every connection (a network that drops), and answer SSLRequest with 'N' itself (a server
 * without TLS, as many are), passing the rest through.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Proxy {
  readonly port: number;
  /** Query ('Q') and Sync ('S') messages sent by clients: one per round trip */
  readonly roundTrips: () => number;
  readonly connections: () => number;
  listen(): Promise<void>;
  cutAll(): void;
  close(): Promise<void>;
}

export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const SSL_REQUEST = 80877103;

/** A proxy to 127.0.0.1:targetPort; call listen() to open it. */
export async function proxyTo(targetPort: number, options: { readonly declineTls?: boolean } = {}): Promise<Proxy> {
  const port = await reservePort();
  const sockets = new Set<Socket>();
  let roundTrips = 0;
  let connections = 0;
  let server: Server | undefined;

  const countMessages = () => {
    let buffer = Buffer.alloc(0);
    let startupDone = false;
    return (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!startupDone) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (buffer.length < length) return;
          buffer = buffer.subarray(length);
          if (code !== SSL_REQUEST) startupDone = true; // SSLRequest is followed by the real startup
          continue;
        }
        if (buffer.length < 5) return;
        const type = String.fromCharCode(buffer[0]!);
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        if (type === 'Q' || type === 'S') roundTrips++;
        buffer = buffer.subarray(length + 1);
      }
    };
  };

  return {
    port,
    roundTrips: () => roundTrips,
    connections: () => connections,
    listen: () =>
      new Promise<void>((resolve) => {
        server = createServer((client) => {
          connections++;
          const upstream = connect(targetPort, '127.0.0.1');
          sockets.add(client).add(upstream);
          const count = countMessages();
          let first = true;
          client.on('data', (chunk: Buffer) => {
            count(chunk);
            const sslRequest = first && chunk.length >= 8 && chunk.readInt32BE(4) === SSL_REQUEST;
            first = false;
            if (sslRequest && options.declineTls) {
              client.write('N');
              if (chunk.length > 8) upstream.write(chunk.subarray(8));
              return;
            }
            upstream.write(chunk);
          });
          upstream.pipe(client);
          const end = () => {
            client.destroy();
            upstream.destroy();
            sockets.delete(client);
            sockets.delete(upstream);
          };
          client.on('close', end).on('error', end);
          upstream.on('close', end).on('error', end);
        });
        server.listen(port, '127.0.0.1', resolve);
      }),
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
      }),
  };
}
