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
  /**
   * The TLS options when TLS is used: always with require, verify-ca and verify-full; for prefer
   * and allow, when the server wants it (session.ts); false with disable.
   */
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
  sslcert?: string | undefined;
  sslkey?: string | undefined;
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
    database: parts.database,
    sslMode,
    ssl: tlsOptions(sslMode, parts, source),
    display: `${host}:${port}/${parts.database ?? parts.user ?? ''}`,
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
  // sslmode and friends keep libpq's meaning, so they are read here and kept from the driver.
  const [base, query = ''] = splitOnce(url, '?');
  const params = new URLSearchParams(query);
  const ssl = {
    sslmode: params.get('sslmode') ?? undefined,
    sslrootcert: params.get('sslrootcert') ?? undefined,
    sslcert: params.get('sslcert') ?? undefined,
    sslkey: params.get('sslkey') ?? undefined,
  };
  for (const key of [...params.keys()]) if (key.startsWith('ssl')) params.delete(key);
  const rest = params.toString();
  let config: ReturnType<typeof parse>;
  try {
    config = parse(rest ? `${base}?${rest}` : base);
  } catch {
    throw new Error('could not be parsed as a PostgreSQL URL (the value is not shown because it may hold a password)');
  }
  const port = config.port ? Number(config.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new Error(`has port "${config.port}", which is not a TCP port`);
  }
  if (ssl.sslmode !== undefined && !sslModes.includes(ssl.sslmode)) {
    throw new Error(`has sslmode=${ssl.sslmode}; use disable, allow, prefer, require, verify-ca or verify-full`);
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

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

function tlsOptions(mode: SslMode, parts: Parts, source: string): ConnectionOptions | false {
  if (mode === 'disable') return false;
  // libpq sends a client certificate whenever TLS is used and one is configured.
  const client = clientCertificate(parts, source);
  // libpq: allow and prefer never verify; require verifies only with a root certificate present.
  const ca = mode === 'allow' || mode === 'prefer' || parts.sslrootcert === undefined ? undefined : readPemFile('sslrootcert', parts.sslrootcert, source);
  if (ca === undefined && mode !== 'verify-ca' && mode !== 'verify-full') return { rejectUnauthorized: false, ...client };
  // libpq: `require` with a root certificate behaves as verify-ca.
  if (mode === 'require' || mode === 'verify-ca') {
    return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined, ...client };
  }
  return { rejectUnauthorized: true, ...(ca ? { ca } : {}), ...client };
}

function clientCertificate(parts: Parts, source: string): { cert?: string; key?: string } {
  if (parts.sslcert === undefined && parts.sslkey === undefined) return {};
  if (parts.sslcert === undefined || parts.sslkey === undefined) {
    throw new ConfigError(`Invalid configuration: ${source} names ${parts.sslcert === undefined ? 'sslkey without sslcert' : 'sslcert without sslkey'}; a client certificate needs both.`, {
      variables: [source],
    });
  }
  return { cert: readPemFile('sslcert', parts.sslcert, source), key: readPemFile('sslkey', parts.sslkey, source) };
}

function readPemFile(what: string, path: string, source: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`Invalid configuration: ${what} ${path} (from ${source}) cannot be read (${code}).`, { variables: [source] });
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The same server and credentials, another database. */
export function withDatabase(target: ConnectionTarget, database: string): ConnectionTarget {
  return Object.freeze({ ...target, database, display: `${target.host}:${target.port}/${database}` });
}
