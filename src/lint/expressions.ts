/**
 * Reading parts of the parser's tree: names, the functions an expression calls, and whether a
 * CHECK expression proves a column NOT NULL.
 */
import type { ColumnDef, Node, RangeVar } from 'libpg-query';

/**
 * A table's name as lint compares them: unquoted names are already lower-cased by the parser;
 * `public` is the schema an unqualified name means in the usual search_path.
 */
export function tableName(relation: RangeVar | undefined): string {
  const name = relation?.relname ?? '?';
  const schema = relation?.schemaname;
  return schema && schema !== 'public' ? `${schema}.${name}` : name;
}

/** A dropped object's name (DROP TABLE, DROP INDEX: a list of String nodes `[schema,] name`), as tableName writes it. */
export function objectName(object: Node): string {
  const parts = 'List' in object ? names(object.List.items) : [];
  const [name = '?', schema] = [...parts].reverse();
  return tableName({ relname: name, ...(schema === undefined ? {} : { schemaname: schema }) });
}

/** The last part of a qualified name held as String nodes (`pg_catalog.random` → `random`). */
function lastName(names: readonly Node[] | undefined): string | undefined {
  const last = names?.[names.length - 1];
  return last && 'String' in last ? last.String.sval : undefined;
}

/**
 * Functions PostgreSQL marks volatile that are used as column defaults: each row gets its own
 * value, so ADD COLUMN must rewrite the table. now(), current_timestamp and the like are stable.
 */
const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'random',
  'random_normal',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'gen_random_bytes',
]);

const SERIAL_TYPES: ReadonlySet<string> = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** What makes a new column's value differ per row, with its byte location; undefined if nothing. */
export function perRowDefault(column: ColumnDef): { readonly what: string; readonly location: number | undefined } | undefined {
  const type = lastName(column.typeName?.names);
  if (type !== undefined && SERIAL_TYPES.has(type))
    return { what: `the type ${type} (a nextval() default)`, location: column.typeName?.location };
  for (const node of column.constraints ?? []) {
    if (!('Constraint' in node)) continue;
    const constraint = node.Constraint;
    if (constraint.contype === 'CONSTR_IDENTITY')
      return { what: 'GENERATED … AS IDENTITY (a nextval() default)', location: constraint.location };
    // a virtual generated column (PostgreSQL 18's default) is computed when read: nothing stored
    if (constraint.contype === 'CONSTR_GENERATED' && constraint.generated_kind === 's')
      return { what: 'GENERATED ALWAYS AS (…) STORED (computed for every row)', location: constraint.location };
    if (constraint.contype !== 'CONSTR_DEFAULT') continue;
    const volatile = functionCalls(constraint.raw_expr).find((call) => VOLATILE_FUNCTIONS.has(call.name));
    if (volatile) return { what: `the volatile default ${volatile.name}()`, location: volatile.location };
  }
  return undefined;
}

interface FunctionCall {
  readonly name: string;
  readonly location: number | undefined;
}

/** Every function called anywhere inside an expression tree. */
function functionCalls(tree: unknown): FunctionCall[] {
  if (Array.isArray(tree)) return tree.flatMap(functionCalls);
  if (tree === null || typeof tree !== 'object') return [];
  return Object.entries(tree).flatMap(([key, value]) => {
    const inner = functionCalls(value);
    if (key !== 'FuncCall') return inner;
    const call = value as { funcname?: Node[]; location?: number };
    const name = lastName(call.funcname);
    return name === undefined ? inner : [{ name: name.toLowerCase(), location: call.location }, ...inner];
  });
}

/** The strings of a list of String nodes (column names in a constraint's key). */
export function names(nodes: readonly Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((node) => ('String' in node && node.String.sval !== undefined ? [node.String.sval] : []));
}

/** The distinct columns an expression reads, in order of appearance (`a.b` counts as `b`). */
export function columnsReferenced(tree: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const column = key === 'ColumnRef' ? lastName((value as { fields?: Node[] }).fields) : undefined;
      if (column !== undefined) found.add(column);
      else visit(value);
    }
  };
  visit(tree);
  return [...found];
}

/** The columns a CHECK expression proves NOT NULL: `c IS NOT NULL`, alone or ANDed with more. */
export function columnsProvenNotNull(expression: Node | undefined): string[] {
  if (!expression) return [];
  if ('BoolExpr' in expression && expression.BoolExpr.boolop === 'AND_EXPR')
    return (expression.BoolExpr.args ?? []).flatMap(columnsProvenNotNull);
  if (!('NullTest' in expression) || expression.NullTest.nulltesttype !== 'IS_NOT_NULL') return [];
  const column = columnName(expression.NullTest.arg);
  return column === undefined ? [] : [column];
}

function columnName(node: Node | undefined): string | undefined {
  if (!node || !('ColumnRef' in node)) return undefined;
  const fields = node.ColumnRef.fields ?? [];
  return fields.length === 1 ? lastName(fields) : undefined;
}

/** Whether a string constant equal to `text` appears anywhere inside a tree (`'004_x'` in VALUES or SELECT). */
export function holdsText(tree: unknown, text: string): boolean {
  if (Array.isArray(tree)) return tree.some((item) => holdsText(item, text));
  if (tree === null || typeof tree !== 'object') return false;
  return Object.entries(tree).some(([key, value]) => (key === 'sval' && value === text) || holdsText(value, text));
}
