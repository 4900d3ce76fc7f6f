/**
 * The ledger and plans as text for a person (aligned columns) and as plain data for JSON.
 */
import type { LedgerRow } from './plan.js';
import { printable } from './printable.js';

/** Aligned columns; each cell on one line (a newline or escape in a value is shown escaped). */
export function table(headers: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export function ledgerTable(rows: readonly LedgerRow[]): string {
  if (rows.length === 0) return 'schema_migrations is empty\n';
  return table(
    ['id', 'applied_at', 'duration_ms', 'applied_by', 'checksum'],
    rows.map((r) => [
      r.id,
      r.appliedAt.toISOString(),
      r.durationMs === null ? '' : String(r.durationMs),
      r.appliedBy ?? '',
      r.checksum ? r.checksum.slice(0, 12) : 'unknown',
    ]),
  );
}

/** `migrate --json`: what this run applied, in order, and the ledger after it. */
export function migrateJson(
  applied: readonly { readonly id: string; readonly durationMs: number; readonly attempts: number }[],
  rows: readonly LedgerRow[],
) {
  return {
    applied: applied.map((a) => ({ id: a.id, duration_ms: a.durationMs, attempts: a.attempts })),
    ledger: ledgerJson(rows),
  };
}

export function ledgerJson(rows: readonly LedgerRow[]) {
  return rows.map((r) => ({
    id: r.id,
    applied_at: r.appliedAt.toISOString(),
    duration_ms: r.durationMs,
    applied_by: r.appliedBy,
    checksum: r.checksum,
  }));
}
