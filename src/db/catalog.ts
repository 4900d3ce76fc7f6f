/**
 * A snapshot of the user-visible catalog as sorted lines of text: tables, columns (type, null,
 * identity, default or generation expression), constraints, indexes (with validity), functions,
 * triggers and views. Two snapshots are equal exactly when those definitions are; `rehearse`
 * compares them.
 */
import type { Session } from './session.js';

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`;

const SNAPSHOT_SQL = `
SELECT line FROM (
  SELECT format('relation %I.%I kind %s', n.nspname, c.relname, c.relkind) AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
  SELECT format('column %I.%I.%I %s%s%s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END,
                coalesce(CASE a.attgenerated WHEN 's' THEN ' generated stored ' WHEN 'v' THEN ' generated virtual ' ELSE ' default ' END
                         || pg_get_expr(d.adbin, d.adrelid), ''))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %I.%I on %I: %s%s', n.nspname, con.conname, c.relname, pg_get_constraintdef(con.oid),
                CASE WHEN con.convalidated THEN '' ELSE ' (not validated)' END)
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT format('index %s%s', pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT format('function %s: %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE ${USER_SCHEMAS} AND p.prokind IN ('f', 'p')
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS} AND NOT t.tgisinternal
  UNION ALL
  SELECT format('view %I.%I: %s', n.nspname, c.relname, md5(pg_get_viewdef(c.oid)))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS} AND c.relkind IN ('v', 'm')
) facts ORDER BY line`;

export async function catalogSnapshot(session: Session): Promise<string[]> {
  return (await session.query<{ line: string }>(SNAPSHOT_SQL)).map((r) => r.line);
}

export interface CatalogDifference {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export function compareSnapshots(before: readonly string[], after: readonly string[]): CatalogDifference | undefined {
  const was = new Set(before);
  const is = new Set(after);
  const added = after.filter((line) => !was.has(line));
  const removed = before.filter((line) => !is.has(line));
  return added.length === 0 && removed.length === 0 ? undefined : { added, removed };
}
