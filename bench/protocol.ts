/**
 * A counting TCP proxy for the PostgreSQL wire protocol, for the diagnostic pass (never for the
 * timed runs: it adds a hop). It forwards bytes untouched and counts, from the client's side:
 * connections, simple queries ('Q') and Syncs ('S', the end of an extended-protocol pipeline).
 * A client that waits for the server after each of them, which every tool here does, makes one
 * round trip per Q or S.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProtocolCounts {
  connections: number;
  simpleQueries: number;
  syncs: number;
  /** bytes sent by the clients */
  bytesToServer: number;
}

export interface CountingProxy {
  readonly port: number;
  /** counts since the last reset */
  counts(): ProtocolCounts;
  reset(): void;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** Parses the client→server stream without keeping message bodies (a bulk file is one 9 MiB 'Q'). */
class ClientStream {
  private startup = true;
  private header = Buffer.alloc(0);
  private skip = 0;

  constructor(private readonly counts: ProtocolCounts) {}

  feed(chunk: Buffer): void {
    this.counts.bytesToServer += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - offset);
        this.skip -= n;
        offset += n;
        continue;
      }
      const need = this.startup ? 8 : 5;
      const take = Math.min(need - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length < need) return;
      if (this.startup) {
        const length = this.header.readInt32BE(0);
        const code = this.header.readInt32BE(4);
        // SSL and GSSAPI requests are answered with one byte, then a real startup message follows.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.startup = false;
        this.skip = length - 8;
      } else {
        const type = String.fromCharCode(this.header[0] ?? 0);
        if (type === 'Q') this.counts.simpleQueries++;
        else if (type === 'S') this.counts.syncs++;
        this.skip = this.header.readInt32BE(1) - 4;
      }
      this.header = Buffer.alloc(0);
    }
  }
}

export async function startProxy(targetHost: string, targetPort: number): Promise<CountingProxy> {
  let counts: ProtocolCounts = { connections: 0, simpleQueries: 0, syncs: 0, bytesToServer: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    counts.connections++;
    const current = counts;
    const parser = new ClientStream(current);
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      parser.feed(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    counts: () => ({ ...counts }),
    reset() {
      counts = { connections: 0, simpleQueries: 0, syncs: 0, bytesToServer: 0 };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
