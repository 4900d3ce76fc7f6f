/**
 * XYN_AUTH: how a connection logs in. `password` is the URL's (or PGPASSWORD's) password; the
 * other modes make the password a short-lived token from the cloud's identity, obtained when the
 * server asks for a password on each new connection (a wait's retries, a fleet's targets, a
 * watchdog's connection), reused only while it has life left, and never written anywhere:
 * each new token is registered with the output scrubber before it is used.
 *
 * The modes' code (src/auth/aws.ts, gcp.ts, azure.ts) is loaded only when a token is first
 * asked for: a run with a password loads none of it.
 */
import { ConfigError } from '../errors.js';
import { registerSecret } from '../secrets.js';
import { AuthError } from './errors.js';

export const AUTH_MODES = ['password', 'aws-iam', 'gcp-iam', 'azure-entra'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export type TokenMode = Exclude<AuthMode, 'password'>;

/** The clouds' own variables (AWS_REGION, AZURE_CLIENT_ID, …): read where their SDKs read them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What a token is for: the server and the database user it logs in as. */
export interface LoginTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/** A secret with the time it stops working (ms since the epoch); undefined = no end known (long-term keys). */
export interface Expiring<T> {
  readonly value: T;
  readonly expiresAt: number | undefined;
}

/**
 * A URL used with a token mode: TLS verified with the host name (the token is a bearer secret
 * for as long as it lives; sent to an unverified server it is given away), a user (the token is
 * for one), and no password of its own (one would never be used).
 */
export function checkTokenLogin(
  mode: TokenMode,
  login: { readonly sslMode: string; readonly user: string | undefined; readonly password: string | undefined },
  source: string,
): void {
  const problem =
    login.sslMode !== 'verify-full'
      ? `asks for sslmode=${login.sslMode}, but the token is sent as the password and must only go to a server whose certificate and host name are verified: use sslmode=verify-full (the default with XYN_AUTH=${mode}) with sslrootcert=<the CA file> or sslrootcert=system`
      : login.user === undefined
        ? `names no user; the token is for one database user: put it in the URL (postgres://USER@host/db) or PGUSER`
        : login.password !== undefined
          ? `holds a password, which XYN_AUTH=${mode} would never use (the token is the password): remove it`
          : undefined;
  if (problem) throw new ConfigError(`Invalid configuration: ${source} ${problem}.`, { variables: [source, 'XYN_AUTH'] });
}

/** pg's `password` for a connection with a token mode: called when the server asks for a password. */
export function tokenPassword(mode: TokenMode, target: LoginTarget, env: Environment = process.env): () => Promise<string> {
  return async () => {
    try {
      return await loginToken(mode, target, env);
    } catch (error) {
      if (error instanceof AuthError) throw new AuthError(`XYN_AUTH=${mode}: ${error.message}`, error.transient ? 'unavailable' : 'config');
      throw error;
    }
  };
}

async function loginToken(mode: TokenMode, target: LoginTarget, env: Environment): Promise<string> {
  switch (mode) {
    case 'aws-iam': {
      const { rdsToken } = await import('./aws.js');
      return reuseWhileFresh(`aws-iam ${target.user}@${target.host}:${target.port}`, () => rdsToken(target, env));
    }
    case 'gcp-iam': {
      const { googleAccessToken } = await import('./gcp.js');
      return reuseWhileFresh('gcp-iam', () => googleAccessToken(env));
    }
    case 'azure-entra': {
      const { entraToken } = await import('./azure.js');
      return reuseWhileFresh('azure-entra', () => entraToken(env));
    }
  }
}

const tokens = new Map<string, { obtainedAt: number; token: Promise<Expiring<string>> }>();

/** The cached token while it is fresh, else a new one (registered as a secret); concurrent callers share one request. */
async function reuseWhileFresh(key: string, obtain: () => Promise<Expiring<string>>): Promise<string> {
  const now = Date.now();
  const entry = tokens.get(key);
  if (entry) {
    const token = await entry.token.catch(() => undefined);
    if (token && isFresh(token, entry.obtainedAt, now)) return token.value;
    if (tokens.get(key) === entry) tokens.delete(key);
  }
  const fresh = { obtainedAt: now, token: obtain() };
  tokens.set(key, fresh);
  try {
    const token = await fresh.token;
    registerSecret(token.value);
    return token.value;
  } catch (error) {
    if (tokens.get(key) === fresh) tokens.delete(key);
    throw error;
  }
}

/**
 * Fresh while more than a margin of its life is left: half its life, at most five minutes (a
 * one-hour token serves 55 minutes, AWS's 15-minute token 10), so a connection never logs in with
 * a token about to expire, and none is used past its life.
 */
export function isFresh(token: Expiring<unknown>, obtainedAt: number, now: number): boolean {
  if (token.expiresAt === undefined) return true;
  const margin = Math.min(5 * 60_000, (token.expiresAt - obtainedAt) / 2);
  return now < token.expiresAt - margin;
}

/**
 * Why the server refused a token, and what usually fixes it on that cloud. The server's own
 * message is kept (it names the user, never the token).
 */
export function tokenRefused(mode: TokenMode, user: string, error: { readonly code: string; readonly message: string }): string {
  const refused = `the server refused the XYN_AUTH=${mode} token for user "${user}" (${error.code}: ${error.message})`;
  switch (mode) {
    case 'aws-iam':
      return `${refused}; on RDS and Aurora "PAM authentication failed" means the user lacks rds_iam (GRANT rds_iam TO "${user}"), the IAM policy does not allow rds-db:connect for this user and database resource, or the token was signed for another region (AWS_REGION)`;
    case 'gcp-iam':
      return `${refused}; on Cloud SQL the user must be an IAM database user (a service account's is its email without .gserviceaccount.com), with cloudsql.iam_authentication on and roles/cloudsql.instanceUser granted to the principal`;
    case 'azure-entra':
      return `${refused}; on Azure Database for PostgreSQL the user must be a Microsoft Entra role created by an Entra administrator (pgaadauth_create_principal) with exactly this name, for the identity the token is for`;
  }
}
