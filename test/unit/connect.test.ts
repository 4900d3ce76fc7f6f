import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLostConnection } from '../../src/db/connect.js';

describe('isLostConnection', () => {
  it('is true for a broken socket, false for any other error without a SQLSTATE', () => {
    assert.equal(isLostConnection(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isLostConnection(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), true);
    assert.equal(isLostConnection(new TypeError("Cannot read properties of undefined (reading 'id')")), false);
    assert.equal(isLostConnection(new Error('invalid ledger row')), false);
  });
});
