/**
 * What a person waiting for PostgreSQL is told: what is awaited and until when, at once; a service
 * on the port that is not PostgreSQL, at once (exit 3); one that accepts and never answers, after
 * a few seconds. A read-only command at a terminal waits less by default.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { migrationsDir, runCli } from '../support/cli.js';
import { reservePort } from '../support/proxy.js';
import { runAtTerminal } from '../support/terminal.js';

const dir = migrationsDir({ '001_a.sql': 'SELECT 1;' });
let httpPort: number;
let silentPort: number;
const closers: (() => void)[] = [];

before(async () => {
  const http = createHttpServer((_request, response) => response.end('hello'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as { port: number }).port;
  closers.push(() => http.close());
  const held: Socket[] = [];
  const silent: Server = createServer((socket) => void held.push(socket)); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
  closers.push(() => (held.forEach((s) => s.destroy()), silent.close()));
});
after(() => closers.forEach((close) => close()));

describe('waiting for PostgreSQL', () => {
  it('a service that is not PostgreSQL on the port is exit 3 at once, saying so (sslmode prefer, the default, and require)', async () => {
    for (const query of ['', '?sslmode=require']) {
      const run = await runCli(['status'], { DATABASE_URL: `postgres://u:p@127.0.0.1:${httpPort}/db${query}`, XYN_MIGRATIONS_DIR: dir });
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.lastMessage, new RegExp(`the service at 127\\.0\\.0\\.1:${httpPort} is not PostgreSQL`));
      assert.match(run.lastMessage, /invalid response to SSL negotiation/);
      assert.ok(!run.logs.some((l) => l.msg === 'waiting for PostgreSQL'), 'no retry: waiting will not turn it into PostgreSQL');
    }
    const prefer = await runCli(['status'], { DATABASE_URL: `postgres://u:p@127.0.0.1:${httpPort}/db`, XYN_MIGRATIONS_DIR: dir });
    assert.match(prefer.lastMessage, /answered the TLS request with "H"/);
  });

  it('a port that accepts and never answers: first what is awaited and the deadline, then that it is silent', async () => {
    const run = await runCli(['migrate'], {
      DATABASE_URL: `postgres://u:p@127.0.0.1:${silentPort}/db`,
      XYN_MIGRATIONS_DIR: dir,
      XYN_WAIT_TIMEOUT: '5',
    });
    assert.equal(run.code, 3);
    assert.equal(
      run.logs[0]?.msg,
      `waiting up to 5 s (XYN_WAIT_TIMEOUT) for PostgreSQL at 127.0.0.1:${silentPort}/db to accept connections and be writable…`,
    );
    assert.ok(
      run.logs.some(
        (l) => l.severity === 'info' && String(l.msg).startsWith(`127.0.0.1:${silentPort} accepts TCP connections but has not answered`),
      ),
      run.stderr,
    );
  });

  it('a read-only command at a terminal waits 10 s by default, and says so first', async () => {
    const port = await reservePort(); // nothing listens
    const run = await runAtTerminal(['status'], { DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`, XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 3, run.output);
    assert.match(
      run.output.split('\n')[0]!,
      new RegExp(`waiting up to 10 s \\(XYN_WAIT_TIMEOUT\\) for PostgreSQL at 127\\.0\\.0\\.1:${port}/db`),
    );
    assert.match(run.output, /was not ready within 10s \(XYN_WAIT_TIMEOUT\)/);
  });
});
