/**
 * src/target.ts on its own (no environment): a URL and the PG* defaults → where to connect.
 * loadConfig's use of it is in config.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SSL_MODES, atHost, connectionTarget, withDatabase } from '../../src/target.js';
import { assertConfigError } from '../support/assertions.js';

describe('connectionTarget', () => {
  it('the URL wins over the defaults, field by field; no database named is the database named like the user', () => {
    const target = connectionTarget('postgres://app:pw@db:6432', 'DATABASE_URL', { host: 'other', user: 'nobody', sslmode: 'disable' });
    assert.deepEqual([target.host, target.port, target.user, target.database, target.sslMode], ['db', 6432, 'app', 'app', 'disable']);
    assert.equal(target.display, 'db:6432/app');
  });

  it('several hosts: in a URL each with its own port (5432 when it has none); PGHOST/PGPORT one port for all or one per host, another count is exit 2', () => {
    assert.deepEqual(connectionTarget('postgres://app@a,b:7/x', 'DATABASE_URL', {}).hosts, [
      { host: 'a', port: 5432 },
      { host: 'b', port: 7 },
    ]);
    assert.deepEqual(connectionTarget(undefined, 'PGHOST', { host: 'a,b', port: '3', database: 'x' }).hosts, [
      { host: 'a', port: 3 },
      { host: 'b', port: 3 },
    ]);
    assert.deepEqual(connectionTarget(undefined, 'PGHOST', { host: 'a,b', port: '3', database: 'x' }).hosts, [
      { host: 'a', port: 3 },
      { host: 'b', port: 3 },
    ]);
    assert.deepEqual(connectionTarget(undefined, 'PGHOST', { host: 'a,b', port: '1,2', database: 'x' }).hosts, [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    assertConfigError(() => connectionTarget(undefined, 'PGHOST', { host: 'a,b,c', port: '1,2' }), /PGHOST names 3 hosts and 2 ports/);
  });

  it('an unknown sslmode is exit 2 listing every mode, never echoing the URL', () => {
    const error = assertConfigError(
      () => connectionTarget('postgres://app:s3cret@db/x?sslmode=strict', 'DATABASE_URL', {}),
      /sslmode=strict/,
    );
    for (const mode of SSL_MODES) assert.ok(error.message.includes(mode), mode);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  it('atHost narrows to the host that answered; withDatabase keeps the server and credentials', () => {
    const target = connectionTarget('postgres://app:pw@a,b/x', 'DATABASE_URL', {});
    const b = atHost(target, target.hosts[1]!);
    assert.deepEqual([b.host, b.hosts.length, b.display], ['b', 1, 'b:5432/x']);
    const scratch = withDatabase(target, 'xyn_rehearse_1');
    assert.deepEqual([scratch.database, scratch.password, scratch.display], ['xyn_rehearse_1', 'pw', 'a:5432,b:5432/xyn_rehearse_1']);
  });
});
