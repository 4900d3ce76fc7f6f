/**
 * Where to connect, resolved once from DATABASE_URL / DATABASE_URL_FILE / PG* variables: part of
 * the configuration (config.ts builds it), which the db modules only read.
 * `sslmode` keeps libpq's meaning (pg alone reads `require` as "verify the certificate").
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { parse } from 'pg-connection-string';
import { ConfigError } from './errors.js';
import { checkTokenLogin, type AuthMode, type TokenMode } from './auth/token.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const sslModes: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * `sslrootcert=system` (libpq 16): trust the roots the TLS library trusts; for Node, its bundled
 * Mozilla list plus NODE_EXTRA_CA_CERTS. It implies verify-full.
 */
const SYSTEM_ROOTS = 'system';

/** One server of a target: libpq tries a URL's hosts in order. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ConnectionTarget {
  /** the first host (the only one, mostly); a session's target is the host that answered */
  readonly host: string;
  readonly port: number;
  /** every host, in the order tried (`postgres://h1:5432,h2:5432/db`, or PGHOST=h1,h2) */
  readonly hosts: readonly Endpoint[];
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
  readonly sslMode: SslMode;
  /**
   * The TLS options when TLS is used: always with require, verify-ca and verify-full; for prefer
   * and allow, when the server wants it (session.ts); false with disable.
   */
  readonly ssl: ConnectionOptions | false;
  /** host:port[,host:port…]/database, never the password: safe for every log line */
  readonly display: string;
  /** where the user and password were given (a variable, a targets line): what a refused login names */
  readonly credentialsFrom: string;
  /** XYN_AUTH when it is not `password`: the password is a token of this kind, obtained for each new connection */
  readonly auth?: TokenMode;
}

/** PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY: what a URL that does not say otherwise gets, as in libpq. */
export interface TlsDefaults {
  readonly sslmode?: string | undefined;
  readonly sslrootcert?: string | undefined;
  readonly sslcert?: string | undefined;
  readonly sslkey?: string | undefined;
  /** XYN_AUTH: a token mode makes verify-full the default sslmode, and the only one allowed */
  readonly auth?: AuthMode | undefined;
}

interface Parts extends TlsDefaults {
  /** one host, or several separated by commas */
  host?: string | undefined;
  /** one port (for every host), or one per host separated by commas; an empty one is 5432 */
  port?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
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
  const tokenMode = parts.auth === 'password' ? undefined : parts.auth;
  const sslMode = (parts.sslmode ?? (tokenMode || parts.sslrootcert === SYSTEM_ROOTS ? 'verify-full' : 'prefer')) as SslMode;
  if (parts.sslrootcert === SYSTEM_ROOTS && sslMode !== 'verify-full') {
    throw new ConfigError(
      `Invalid configuration: ${source} has sslrootcert=system with sslmode=${sslMode}; the trusted roots of the system are only for sslmode=verify-full (libpq's rule): set verify-full, or leave sslmode out (verify-full is then the default).`,
      { variables: [source] },
    );
  }
  if (tokenMode) checkTokenLogin(tokenMode, { sslMode, user: parts.user || undefined, password: parts.password || undefined }, source);
  const hosts = endpoints(parts.host, parts.port, source);
  return Object.freeze({
    host: hosts[0]!.host,
    port: hosts[0]!.port,
    hosts,
    user: parts.user || undefined,
    password: parts.password,
    // libpq: no database named = the database named like the user
    database: parts.database || parts.user || undefined,
    sslMode,
    ssl: tlsOptions(sslMode, parts, source),
    display: display(hosts, parts.database || parts.user || ''),
    credentialsFrom: url === undefined ? 'PGUSER/PGPASSWORD (no DATABASE_URL is set)' : source,
    ...(tokenMode ? { auth: tokenMode } : {}),
  });
}

/** libpq's host and port lists: one port for every host, or one port per host. */
function endpoints(hostList: string | undefined, portList: string | undefined, source: string): Endpoint[] {
  const hosts = (hostList || 'localhost').split(',');
  const ports = (portList ?? '').split(',');
  if (ports.length !== 1 && ports.length !== hosts.length) {
    throw new ConfigError(
      `Invalid configuration: ${source} names ${hosts.length} hosts and ${ports.length} ports; give one port for all, or one per host.`,
      {
        variables: [source],
      },
    );
  }
  return hosts.map((host, i) => ({ host: host || 'localhost', port: Number(ports[ports.length === 1 ? 0 : i] || 5432) }));
}

function display(hosts: readonly Endpoint[], database: string): string {
  return `${hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',')}/${database}`;
}

/** The same target, narrowed to one of its hosts (the one that answered). */
export function atHost(target: ConnectionTarget, endpoint: Endpoint): ConnectionTarget {
  return Object.freeze({ ...target, ...endpoint, hosts: [endpoint], display: display([endpoint], target.database ?? target.user ?? '') });
}

/**
 * Reads a libpq-style URL. Throws a plain Error whose message completes "DATABASE_URL …" and
 * never contains the URL itself (it may hold a password).
 */
export function parseDatabaseUrl(url: string): Parts {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined) {
    throw new Error(
      'is not a URL (expected postgres://user:password@host:5432/database; the value is not shown because it may hold a password)',
    );
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql')
    throw new Error(`must start with postgres:// or postgresql:// (found ${scheme}://)`);
  if (hasUnencodedUserinfo(url.slice(scheme.length + 3)))
    throw new Error(`has an unencoded reserved character in its user name or password: ${PERCENT_ENCODE}`);
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
  // Several hosts (h1:5432,h2:5432) are read here; the driver's parser sees the first one only.
  const { first, hosts } = splitHosts(base);
  let config: ReturnType<typeof parse>;
  try {
    config = parse(rest ? `${first}?${rest}` : first);
  } catch {
    throw new Error(`could not be parsed as a PostgreSQL URL; if its user name or password holds a reserved character, ${PERCENT_ENCODE}`);
  }
  const list = hosts ?? [{ host: config.host ?? '', port: config.port ?? '' }];
  for (const { port } of list) {
    if (port !== '' && !isPort(port)) throw new Error(`has port "${port}", which is not a TCP port`);
  }
  if (ssl.sslmode !== undefined && !sslModes.includes(ssl.sslmode)) {
    throw new Error(`has sslmode=${ssl.sslmode}; use disable, allow, prefer, require, verify-ca or verify-full`);
  }
  return {
    host: list.some((h) => h.host !== '') ? list.map((h) => h.host).join(',') : undefined,
    port: list.some((h) => h.port !== '') ? list.map((h) => h.port).join(',') : undefined,
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

export function isPort(text: string): boolean {
  const port = Number(text);
  return /^\d+$/.test(text) && port > 0 && port < 65536;
}

/**
 * `postgres://user:pw@h1:5432,[::1]:5433/db`: the URL with its first host only, and every host
 * with its port ('' when none is given); `hosts` is undefined for a URL with one host.
 */
function splitHosts(base: string): { first: string; hosts?: { host: string; port: string }[] } {
  const authorityStart = base.indexOf('://') + 3;
  const pathStart = base.indexOf('/', authorityStart);
  const authorityEnd = pathStart < 0 ? base.length : pathStart;
  const hostStart = base.lastIndexOf('@', authorityEnd) + 1 || authorityStart;
  const hostPart = base.slice(Math.max(hostStart, authorityStart), authorityEnd);
  if (!hostPart.includes(',')) return { first: base };
  const hosts = hostPart.split(',').map((entry) => {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(entry)!;
    return { host: decodeURIComponent(match[1]!.replace(/^\[|\]$/g, '')), port: match[2] ?? '' };
  });
  const firstEntry = hostPart.split(',')[0]!;
  return { first: base.slice(0, Math.max(hostStart, authorityStart)) + firstEntry + base.slice(authorityEnd), hosts };
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
  const ca =
    mode === 'allow' || mode === 'prefer' || parts.sslrootcert === undefined || parts.sslrootcert === SYSTEM_ROOTS
      ? undefined
      : readPemFile('sslrootcert', parts.sslrootcert, source);
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
    throw new ConfigError(
      `Invalid configuration: ${source} names ${parts.sslcert === undefined ? 'sslkey without sslcert' : 'sslcert without sslkey'}; a client certificate needs both.`,
      {
        variables: [source],
      },
    );
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
  return Object.freeze({ ...target, database, display: display(target.hosts, database) });
}
