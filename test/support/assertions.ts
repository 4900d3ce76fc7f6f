/** Assertions the unit tests share. */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';

/** Asserts that `action` throws a ConfigError (exit code 2) whose message matches every pattern; returns it. */
export function assertConfigError(action: () => unknown, ...patterns: RegExp[]): ConfigError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  assert.equal(caught.exitCode, 2);
  return caught;
}
