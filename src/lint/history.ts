/**
 * What lint learns from the statements it has read so far, in migration order: the tables the
 * current file creates, and the CHECK constraints that prove a column NOT NULL.
 *
 * A table counts as new only within the file that creates it: that file runs as one transaction
 * on a table nobody else can see yet. A table created by an earlier file already exists by the
 * time a later file runs in production, however much data it holds, so an index or a rewrite
 * there blocks traffic like on any other table. CREATE TABLE IF NOT EXISTS counts as creating
 * the table: that is what it does on every database but one an ORM reached first.
 */

interface NotNullCheck {
  readonly columns: readonly string[];
  validated: boolean;
}

export class SchemaHistory {
  private readonly createdHere = new Set<string>();
  /** indexes the file being read built on a table it created, named as tableName writes them */
  private readonly newIndexes = new Set<string>();
  /** table → constraint name → the CHECK it is */
  private readonly checks = new Map<string, Map<string, NotNullCheck>>();
  /** table → constraint names added NOT VALID by the file being read */
  private readonly notValidHere = new Map<string, Set<string>>();

  startFile(): void {
    this.createdHere.clear();
    this.newIndexes.clear();
    this.notValidHere.clear();
  }

  tableCreated(table: string): void {
    this.createdHere.add(table);
  }

  /** created earlier in the file being read: new, empty, invisible to other sessions */
  isNewTable(table: string): boolean {
    return this.createdHere.has(table);
  }

  /** An index built by this file; `index` is its name qualified by its table's schema. */
  indexCreated(index: string, table: string): void {
    if (this.isNewTable(table)) this.newIndexes.add(index);
  }

  /** built in the file being read on a table it created */
  isNewIndex(index: string): boolean {
    return this.newIndexes.has(index);
  }

  constraintAdded(table: string, name: string, notNullColumns: readonly string[], validated: boolean): void {
    if (!validated) this.setOf(this.notValidHere, table).add(name);
    if (notNullColumns.length === 0) return;
    const checks = this.checks.get(table) ?? new Map<string, NotNullCheck>();
    checks.set(name, { columns: notNullColumns, validated });
    this.checks.set(table, checks);
  }

  /** Marks the constraint validated; true when this file also added it NOT VALID. */
  constraintValidated(table: string, name: string): boolean {
    const check = this.checks.get(table)?.get(name);
    if (check) check.validated = true;
    return this.notValidHere.get(table)?.has(name) ?? false;
  }

  constraintDropped(table: string, name: string): void {
    this.checks.get(table)?.delete(name);
    this.notValidHere.get(table)?.delete(name);
  }

  hasValidatedNotNullCheck(table: string, column: string): boolean {
    return [...(this.checks.get(table)?.values() ?? [])].some((check) => check.columns.includes(column) && check.validated);
  }

  private setOf(map: Map<string, Set<string>>, key: string): Set<string> {
    const set = map.get(key) ?? new Set<string>();
    map.set(key, set);
    return set;
  }
}
