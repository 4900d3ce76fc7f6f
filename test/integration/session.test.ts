/**
 * Session against a real server: each use of pg's private internals (src/db/pg-adapter.ts) is
 * checked here, so a pg upgrade that moves them fails these tests, not a deploy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runSimpleQuery } from '../../src/db/pg-adapter.js';
import { ScriptFailure, serverError, Session } from '../../src/db/session.js';
import { connectionTarget } from '../../src/target.js';
import { freshDatabase, testServer, urlFor, waitFor, type TestDatabase } from '../support/postgres.js';
import { proxyTo } from '../support/proxy.js';

describe('Session on a real server', () => {
  let db: TestDatabase;
  let session: Session;
  before(async () => {
    db = await freshDatabase('session');
    session = await Session.open(connectionTarget(`${db.url}?sslmode=disable`, 'test', {}), 5000);
  });
  after(async () => {
    await session.close();
    await db.drop();
  });

  it('a script that fails says how many statements completed before the failing one', async () => {
    const failure = await session.script('CREATE TABLE a (id int); INSERT INTO a VALUES (1); SELECT 1/0; SELECT 2').then(
      () => assert.fail('the script should fail'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof ScriptFailure, 'an Error subclass, never a plain object');
    assert.equal(failure.completed, 2);
    assert.equal(serverError(failure)?.code, '22012');
    // one simple query is one implicit transaction: nothing of it stays
    assert.deepEqual(await db.query(`SELECT to_regclass('a') AS t`), [{ t: null }]);
  });

  it('a script sent as byte parts runs as one query, however the parts split the text', async () => {
    const text = Buffer.from("CREATE TABLE parts (v text); INSERT INTO parts VALUES ('ünïcödé');");
    await session.script([text.subarray(0, 7), text.subarray(7, 40), text.subarray(40)]);
    assert.deepEqual(await db.query('SELECT v FROM parts'), [{ v: 'ünïcödé' }]);
  });

  it('a script keeps no result per statement and no rows (a seed of a million INSERTs kept a million)', async () => {
    const client = new pg.Client({ connectionString: `${db.url}?sslmode=disable` });
    await client.connect();
    try {
      const submitted: unknown[] = [];
      const query = client.query.bind(client) as (q: unknown) => unknown;
      (client as unknown as { query: (q: unknown) => unknown }).query = (q) => (submitted.push(q), query(q));
      const outcome = await runSimpleQuery(
        client,
        'CREATE TEMP TABLE r (v int); INSERT INTO r VALUES (1); INSERT INTO r VALUES (2); SELECT * FROM r',
      );
      assert.deepEqual(outcome, { completed: 4, error: undefined });
      const kept = submitted[0] as { _results?: unknown[]; _result: { rows: unknown[] } };
      assert.ok(!Array.isArray(kept._results), 'no Result per statement');
      assert.deepEqual(kept._result.rows, [], 'no rows');
    } finally {
      await client.end();
    }
  });

  it('cancel stops the running statement on the server, and the session stays usable', async () => {
    const running = session.script('SELECT pg_sleep(30)').then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor(
      'the sleep to run',
      async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'`)).length > 0,
    );
    await session.cancel();
    const error = await running;
    assert.equal(serverError(error)?.code, '57014');
    assert.deepEqual(await session.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  it('sslmode=prefer: TLS when the server offers it; plain text on the same socket when it answers N', async () => {
    const offered = await Session.open(connectionTarget(db.url, 'test', {}), 5000);
    try {
      assert.equal(offered.encrypted, true);
      assert.deepEqual(await offered.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), [{ ssl: true }]);
    } finally {
      await offered.close();
    }
    const proxy = await proxyTo(testServer().port, { declineTls: true });
    await proxy.listen();
    try {
      const declined = await Session.open(connectionTarget(urlFor(db.name, testServer(), { port: proxy.port }), 'test', {}), 5000);
      assert.equal(declined.encrypted, false);
      assert.deepEqual(await declined.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), [{ ssl: false }]);
      await declined.close();
      assert.equal(proxy.connections(), 1);
    } finally {
      await proxy.close();
    }
  });
});
