import { ConfigError } from '../errors.js';

/**
 * A token could not be had. Exit 2 (configuration: no credentials, a refused identity, a bad
 * endpoint setting), unless `transient`: an endpoint that did not answer is waited for, like the
 * database, until XYN_WAIT_TIMEOUT.
 */
export class AuthError extends ConfigError {
  readonly transient: boolean;
  constructor(message: string, kind: 'config' | 'refused' | 'unavailable') {
    super(message);
    this.transient = kind === 'unavailable';
  }
}
