/**
 * The database URL's secret parts: a URL read from a mounted file, and every password that must
 * never be printed, registered before anything can fail.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../secrets.js';

type Environment = Readonly<Record<string, string | undefined>>;

/** DATABASE_URL_FILE's content: a mounted Kubernetes or Docker secret. */
export function readUrlFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `Invalid configuration: DATABASE_URL_FILE ${path} cannot be read (${code}); mount the secret there or fix the path.`,
      {
        variables: ['DATABASE_URL_FILE'],
      },
    );
  }
}

/** Kubernetes creates /dev/termination-log; we write there only when it already exists. */
export function defaultTerminationLog(): string | undefined {
  try {
    accessSync('/dev/termination-log', constants.W_OK);
    return '/dev/termination-log';
  } catch {
    return undefined;
  }
}

/**
 * What the CLI needs before (or without) a valid configuration: where the failure reason goes,
 * the log format asked for (unvalidated), and the secrets that must never be printed, registered
 * before anything can fail.
 */
export function earlyEnvironment(env: Environment = process.env): { terminationLog: string | undefined; logFormat: string | undefined } {
  registerSecret(env.PGPASSWORD);
  for (const name of ['DATABASE_URL', 'XYN_REHEARSE_URL']) registerUrlPassword(env[name]);
  if (env.DATABASE_URL_FILE) {
    try {
      registerUrlPassword(readFileSync(env.DATABASE_URL_FILE, 'utf8').trim());
    } catch {
      // reported by loadConfig
    }
  }
  return { terminationLog: env.XYN_TERMINATION_LOG || defaultTerminationLog(), logFormat: env.XYN_LOG_FORMAT };
}

function registerUrlPassword(url: string | undefined): void {
  if (!url) return;
  // Both readings of a password that holds an unencoded '@': up to the first '@' and the last.
  for (const pattern of [/^[a-z]+:\/\/[^:/?#@]*:([^@]*)@/i, /^[a-z]+:\/\/[^:/?#@]*:(.*)@[^@]*$/i]) {
    const password = pattern.exec(url)?.[1];
    registerSecret(password);
    try {
      if (password) registerSecret(decodeURIComponent(password));
    } catch {
      // not percent-encoded
    }
  }
}
