/**
 * Migration files written with the syntax each supported PostgreSQL major added, for the lexer
 * and lint tests (test/unit/majors.test.ts) and for the tests that apply them on every major
 * (test/integration/majors.test.ts). Each file is idempotent, as migrations should be, so that
 * `rehearse` passes over it.
 */
export interface MajorSyntax {
  /** the major that first accepts the file */
  readonly since: number;
  readonly what: string;
  readonly fileName: string;
  readonly sql: string;
  /** the statements the lexer finds, by the (up to four) first words it keeps */
  readonly statements: readonly string[];
  /** the 1-based line of the token where an older server's syntax error points */
  readonly rejectedLine: number;
}

export const MAJOR_SYNTAX: readonly MajorSyntax[] = [
  {
    since: 14,
    what: 'SQL-standard function and procedure bodies (BEGIN ATOMIC … END, CASE … END inside)',
    fileName: '001_begin_atomic.sql',
    sql: `CREATE TABLE IF NOT EXISTS tallies (v int NOT NULL);
CREATE OR REPLACE FUNCTION bump(i int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN i < 0 THEN 0 ELSE i + 1 END;
END;
CREATE OR REPLACE PROCEDURE record_twice(v int) LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO tallies VALUES (bump(v));
  INSERT INTO tallies VALUES (bump(v) + 1);
END;
SELECT bump(41);
`,
    statements: ['CREATE TABLE IF NOT', 'CREATE OR REPLACE FUNCTION', 'CREATE OR REPLACE PROCEDURE', 'SELECT BUMP'],
    rejectedLine: 2,
  },
  {
    since: 15,
    what: 'MERGE, and UNIQUE NULLS NOT DISTINCT',
    fileName: '001_merge.sql',
    sql: `CREATE TABLE IF NOT EXISTS stock (item text, qty int NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS stock_item_key ON stock (item) NULLS NOT DISTINCT;
MERGE INTO stock s
USING (VALUES ('apple', 3), ('pear', 1)) AS d (item, qty)
ON s.item = d.item
WHEN MATCHED THEN UPDATE SET qty = d.qty
WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, d.qty);
`,
    statements: ['CREATE TABLE IF NOT', 'CREATE UNIQUE INDEX IF', 'MERGE INTO STOCK S'],
    rejectedLine: 2,
  },
  {
    since: 16,
    what: 'SQL/JSON predicates and constructors (IS JSON, JSON_OBJECT with key: value)',
    fileName: '001_sql_json.sql',
    sql: `CREATE TABLE IF NOT EXISTS docs (body text NOT NULL);
CREATE OR REPLACE VIEW doc_checks AS
  SELECT body, body IS JSON OBJECT AS is_object, JSON_OBJECT('body': body, 'checked': true) AS wrapped
    FROM docs;
`,
    statements: ['CREATE TABLE IF NOT', 'CREATE OR REPLACE VIEW'],
    rejectedLine: 3,
  },
  {
    since: 17,
    what: 'JSON_TABLE, and MERGE … WHEN NOT MATCHED BY SOURCE … RETURNING merge_action()',
    fileName: '001_json_table.sql',
    sql: `CREATE TABLE IF NOT EXISTS orders (body jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS order_lines (sku text PRIMARY KEY, qty int NOT NULL);
CREATE OR REPLACE VIEW order_items AS
  SELECT jt.sku, jt.qty
    FROM orders, JSON_TABLE(orders.body, '$.lines[*]' COLUMNS (sku text PATH '$.sku', qty int PATH '$.qty' DEFAULT 1 ON EMPTY)) AS jt;
MERGE INTO order_lines l
USING (VALUES ('a-1', 2)) AS d (sku, qty) ON l.sku = d.sku
WHEN MATCHED THEN UPDATE SET qty = d.qty
WHEN NOT MATCHED BY TARGET THEN INSERT VALUES (d.sku, d.qty)
WHEN NOT MATCHED BY SOURCE THEN DELETE
RETURNING merge_action(), l.sku;
`,
    statements: ['CREATE TABLE IF NOT', 'CREATE TABLE IF NOT', 'CREATE OR REPLACE VIEW', 'MERGE INTO ORDER_LINES L'],
    rejectedLine: 5,
  },
  {
    since: 18,
    what: 'virtual generated columns, and RETURNING old/new',
    fileName: '001_virtual_column.sql',
    sql: `CREATE TABLE IF NOT EXISTS prices (net numeric NOT NULL, gross numeric GENERATED ALWAYS AS (net * 1.2) VIRTUAL);
UPDATE prices SET net = net RETURNING old.net AS was, new.gross AS is;
`,
    statements: ['CREATE TABLE IF NOT', 'UPDATE PRICES SET NET'],
    rejectedLine: 1,
  },
];
