/**
 * The fleet's targets: from a file (a target a line) or from a query on the control database.
 * A target is a database on DATABASE_URL's server (or a whole URL), optionally with a tenant
 * schema. Everything that can be wrong with the list is exit 2 naming the line, before any
 * connection; the shard and canary rules are pure functions over the list.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { isPlainIdentifier } from '../migrations/ledger-name.js';
import { registerSecret } from '../secrets.js';
import { connectionTarget, withDatabase, type ConnectionTarget, type TlsDefaults } from '../target.js';

export interface Target {
  /** what the operator reads: `db`, `db schema`, or the URL's host:port/db (never a password) */
  readonly name: string;
  readonly connection: ConnectionTarget;
  readonly schema: string | undefined;
  /** where it was listed, for messages: `targets.txt:12` or `XYN_TARGETS_QUERY row 3` */
  readonly origin: string;
}

/** A row of XYN_TARGETS_QUERY, or a line of the file, before it is resolved. */
export interface TargetSpec {
  readonly database?: string | null | undefined;
  readonly url?: string | null | undefined;
  readonly schema?: string | null | undefined;
}

const DATABASE_NAME = /^[^\s/?#@:'"]{1,63}$/;

/** A word from a bad line, shown only when it cannot be (part of) a URL with a password in it. */
const shown = (word: string) => (/[@:/]/.test(word) ? '(not shown: it may hold a password)' : `"${word}"`);

/** What resolving a target depends on besides its own words. */
export interface TargetRules {
  /** DATABASE_URL's target: the server, credentials and parameters of a target given as a database name */
  readonly base: ConnectionTarget | undefined;
  /** the PG* TLS variables: what a target given as a URL gets where the URL says nothing, as in libpq */
  readonly tlsDefaults: TlsDefaults;
  /** XYN_LEDGER_SCHEMA: a target without a schema keeps its ledger there */
  readonly ledgerSchema: string;
}

export function readTargetsFile(path: string, rules: TargetRules): Target[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid configuration: XYN_TARGETS_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code}).`, {
      variables: ['XYN_TARGETS_FILE'],
    });
  }
  const specs: { spec: TargetSpec; origin: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const origin = `${path}:${i + 1}`;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const words = line.split(/\s+/);
    if (words.length > 2) throw badTarget(origin, 'has more than a target and a schema');
    const [first, schema] = words as [string, string | undefined];
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(first);
    specs.push({ spec: isUrl ? { url: first, schema } : { database: first, schema }, origin });
  });
  return resolveTargets(specs, rules);
}

/** Resolves and checks every spec; a duplicate (the same ledger twice) names both places. */
export function resolveTargets(specs: readonly { spec: TargetSpec; origin: string }[], rules: TargetRules): Target[] {
  const seen = new Map<string, string>();
  return specs.map(({ spec, origin }) => {
    const target = resolveTarget(spec, origin, rules);
    const key = `${target.connection.host}:${target.connection.port}/${target.connection.database ?? ''} ${target.schema ?? rules.ledgerSchema}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw badTarget(origin, `repeats the target of ${earlier}`);
    seen.set(key, origin);
    return target;
  });
}

function resolveTarget(spec: TargetSpec, origin: string, { base, tlsDefaults }: TargetRules): Target {
  const schema = spec.schema ?? undefined;
  // as XYN_LEDGER_SCHEMA: a plain lower-case name, so `Tenant_A` cannot quietly make a second schema beside tenant_a
  if (schema !== undefined && (!isPlainIdentifier(schema) || schema.startsWith('pg_'))) {
    throw badTarget(origin, `has the schema ${shown(schema)}, which is not a plain lower-case schema name (letters, digits, _; not pg_…)`);
  }
  const suffix = schema === undefined ? '' : ` ${schema}`;
  if (spec.url) {
    let connection: ConnectionTarget;
    try {
      connection = connectionTarget(spec.url, origin, tlsDefaults);
    } catch (error) {
      throw badTarget(
        origin,
        `is not a usable URL (${error instanceof ConfigError ? error.message.replace(/^Invalid configuration: /, '') : 'unparsable'})`,
      );
    }
    registerSecret(connection.password);
    return { name: `${connection.display}${suffix}`, connection, schema, origin };
  }
  const database = spec.database ?? '';
  if (!DATABASE_NAME.test(database))
    throw badTarget(origin, `has ${shown(database)}, which is neither a database name nor a postgres:// URL`);
  if (!base) throw badTarget(origin, 'names a database, but DATABASE_URL (the server it is on) is not set');
  return { name: `${database}${suffix}`, connection: withDatabase(base, database), schema, origin };
}

function badTarget(origin: string, problem: string): ConfigError {
  return new ConfigError(
    `Invalid target at ${origin}: it ${problem}; a target line is DATABASE or postgres://… URL, optionally followed by a SCHEMA.`,
    {
      target: origin,
    },
  );
}

/** A stable share: the first 4 bytes of sha256(target) mod n. The n shards cover every target once. */
export function inShard(target: Target, shard: { index: number; count: number } | undefined): boolean {
  if (!shard) return true;
  const key = `${target.connection.host}:${target.connection.port}/${target.connection.database ?? ''}/${target.schema ?? ''}`;
  return createHash('sha256').update(key).digest().readUInt32BE(0) % shard.count === shard.index;
}
