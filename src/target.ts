/**
 * Where to connect, resolved once from DATABASE_URL / DATABASE_URL_FILE / PG* variables: part of
 * the configuration (config.ts builds it), which the db modules only read.
 * `sslmode` keeps libpq's meaning (pg alone reads `require` as "verify the certificate").
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { parse } from 'pg-connection-string';
import { ConfigError } from './errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const sslModes: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
  readonly sslMode: SslMode;
  readonly ssl: ConnectionOptions | false;
  /** host:port/database, never the password: safe for every log line */
  readonly display: string;
}

interface Parts {
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  sslmode?: string | undefined;
  sslrootcert?: string | undefined;
}

/**
 * @param url a postgres:// URL, or undefined to use `defaults` alone (the PG* variables)
 * @param source the variable the URL came from, for error messages (the URL is never quoted)
 */
export function connectionTarget(url: string | undefined, source: string, defaults: Parts): ConnectionTarget {
  let fromUrl: Parts = {};
  if (url !== undefined) {
    try {
      fromUrl = parseDatabaseUrl(url);
    } catch (error) {
      throw new ConfigError(`Invalid configuration: ${source} ${(error as Error).message}.`, { variables: [source] });
    }
  }
  const parts = { ...defaults, ...withoutUndefined(fromUrl) };
  const sslMode = (parts.sslmode ?? 'prefer') as SslMode;
  const host = parts.host || 'localhost';
  const port = parts.port ?? 5432;
  return Object.freeze({
    host,
    port,
    user: parts.user || undefined,
    password: parts.password,
    // libpq: no database named = the database named like the user
    database: parts.database || parts.user || undefined,
    sslMode,
    ssl: tlsOptions(sslMode, parts.sslrootcert, source),
    display: `${host}:${port}/${parts.database || parts.user || ''}`,
  });
}

/**
 * Reads a libpq-style URL. Throws a plain Error whose message completes "DATABASE_URL …" and
 * never contains the URL itself (it may hold a password).
 */
export function parseDatabaseUrl(url: string): Parts {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined) {
    throw new Error('is not a URL (expected postgres://user:password@host:5432/database; the value is not shown because it may hold a password)');
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') throw new Error(`must start with postgres:// or postgresql:// (found ${scheme}://)`);
  if (hasUnencodedUserinfo(url.slice(scheme.length + 3))) throw new Error(`has an unencoded reserved character in its user name or password: ${PERCENT_ENCODE}`);
  // sslmode and friends keep libpq's meaning, so they are read here and kept from the driver.
  const [base, query = ''] = splitOnce(url, '?');
  const params = new URLSearchParams(query);
  const ssl = { sslmode: params.get('sslmode') ?? undefined, sslrootcert: params.get('sslrootcert') ?? undefined };
  for (const key of [...params.keys()]) if (key.startsWith('ssl')) params.delete(key);
  const rest = params.toString();
  let config: ReturnType<typeof parse>;
  try {
    config = parse(rest ? `${base}?${rest}` : base);
  } catch {
    throw new Error(`could not be parsed as a PostgreSQL URL; if its user name or password holds a reserved character, ${PERCENT_ENCODE}`);
  }
  const port = config.port ? Number(config.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new Error(`has port "${config.port}", which is not a TCP port`);
  }
  if (ssl.sslmode !== undefined && !sslModes.includes(ssl.sslmode)) {
    throw new Error(`has sslmode=${ssl.sslmode}; use disable, prefer, require, verify-ca or verify-full`);
  }
  return {
    host: config.host || undefined,
    port,
    user: config.user || undefined,
    password: config.password,
    database: config.database || undefined,
    ...ssl,
  };
}

const PERCENT_ENCODE =
  'percent-encode it (@ as %40, / as %2F, ? as %3F, # as %23, : as %3A, % as %25, as encodeURIComponent does); the value is not shown because it may hold a password';

/**
 * A user name or password with an unencoded `/`, `?` or `#` (which end the authority, so the
 * host, port and database are read from the password), or a `%` that starts no %XX. Read on the
 * raw text between `://` and the last `@`; an `@` in a query string (`?application_name=me@pod`)
 * is no user name.
 */
function hasUnencodedUserinfo(afterScheme: string): boolean {
  const at = afterScheme.lastIndexOf('@');
  if (at < 0) return false;
  const userinfo = afterScheme.slice(0, at);
  if (/\?[A-Za-z_]+=/.test(userinfo)) return false;
  return /[/?#]/.test(userinfo) || /%(?![0-9A-Fa-f]{2})/.test(userinfo);
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

function tlsOptions(mode: SslMode, rootCertPath: string | undefined, source: string): ConnectionOptions | false {
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const ca = rootCertPath === undefined ? undefined : readRootCert(rootCertPath, source);
  if (mode === 'require' && ca === undefined) return { rejectUnauthorized: false };
  // libpq: `require` with a root certificate behaves as verify-ca.
  if (mode === 'require' || mode === 'verify-ca') {
    return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
  }
  return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
}

function readRootCert(path: string, source: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`Invalid configuration: sslrootcert ${path} (from ${source}) cannot be read (${code}).`, { variables: [source] });
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The same server and credentials, another database. */
export function withDatabase(target: ConnectionTarget, database: string): ConnectionTarget {
  return Object.freeze({ ...target, database, display: `${target.host}:${target.port}/${database}` });
}
