/**
 * Tables for the terminal and bench/results.md: one table per scenario, grouped by workload, with
 * every tool's ratio to xyn-migrate measured in the same run.
 */
import type { Summary } from './measure.js';
import type { Scenario, Tool } from './tools.js';
import type { Workload } from './workload.js';

export interface Row {
  readonly scenario: Scenario;
  readonly workload: Workload;
  readonly tool: Tool;
  readonly summary: Summary | undefined;
  /** why there is no summary, or why it does not count */
  readonly failure: string | undefined;
}

/** What one process did on the wire and in the server, from the diagnostic pass. */
export interface Traffic {
  /** simple queries + Syncs sent: one round trip each for a client that waits for every answer */
  readonly roundTrips: number;
  readonly connections: number;
  /** transactions in the tool's database (read-only ones included) */
  readonly transactions: number;
  /** WAL fsyncs of the cluster during the run: the commits that waited for the disk */
  readonly walFsyncs: number;
  readonly walBytes: number;
}

export interface ProfileRow {
  readonly workload: Workload;
  readonly tool: Tool;
  readonly apply: Traffic | undefined;
  readonly steady: Traffic | undefined;
  readonly failure: string | undefined;
}

export const SCENARIO_TITLES: Record<Scenario, string> = {
  apply: 'Apply all from scratch (fresh database per run)',
  steady: 'Steady state: everything applied, nothing to do (the every-pod-start case)',
  concurrent: 'Runners started at once on a migrated database (wall time until the last one exits)',
};

export function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(3) : (ms / 1000).toFixed(2);
}

export function mebibytes(kib: number | undefined): string {
  return kib === undefined ? 'n/a' : (kib / 1024).toFixed(1);
}

function ratio(row: Row, reference: Row | undefined): string {
  if (!row.summary || !reference?.summary) return '–';
  if (row.tool.role === 'subject') return '1.00×';
  return `${(row.summary.medianMs / reference.summary.medianMs).toFixed(2)}×`;
}

/** Keeps a cell on one line and inside its column. */
function cellText(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

export function markdownTable(
  header: readonly string[],
  unsafeRows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number>,
): string {
  const rows = unsafeRows.map((r) => r.map(cellText));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number): string => (rightAligned.has(i) ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** One scenario's table: workload, tool, median, min–max, peak RSS, ratio to xyn-migrate. */
export function scenarioTable(scenario: Scenario, rows: readonly Row[], concurrency: number): string {
  const mine = rows.filter((r) => r.scenario === scenario);
  if (mine.length === 0) return '';
  const body: string[][] = [];
  for (const workload of [...new Set(mine.map((r) => r.workload))]) {
    const group = mine.filter((r) => r.workload === workload);
    const reference = group.find((r) => r.tool.role === 'subject');
    for (const row of group) {
      const s = row.summary;
      body.push([
        workload.label,
        row.tool.label,
        s ? seconds(s.medianMs) : 'FAILED',
        s ? `${seconds(s.minMs)}–${seconds(s.maxMs)}` : 'see Failures below',
        s ? mebibytes(s.peakRssKiB) : '',
        s?.medianCpuMs !== undefined ? seconds(s.medianCpuMs) : '',
        s ? String(s.runs) : '',
        ratio(row, reference),
      ]);
    }
  }
  const title =
    scenario === 'concurrent' ? SCENARIO_TITLES.concurrent.replace('Runners', `${concurrency} runners`) : SCENARIO_TITLES[scenario];
  const header = ['workload', 'tool', 'median s', 'min–max s', 'peak RSS MiB', 'CPU s', 'runs', '× xyn-migrate'];
  return `### ${title}\n\n${markdownTable(header, body, new Set([2, 4, 5, 6, 7]))}\n`;
}

export function failures(rows: readonly Row[]): string[] {
  return rows.filter((r) => r.failure).map((r) => `- ${r.scenario}, ${r.workload.label}, ${r.tool.label}: ${cellText(r.failure ?? '')}`);
}

function find(rows: readonly Row[], scenario: Scenario, workloadKey: string, toolKey: string): Summary | undefined {
  return rows.find((r) => r.scenario === scenario && r.workload.key === workloadKey && r.tool.key === toolKey)?.summary;
}

/** The issue's targets, checked against this run where the run has the numbers. */
export function targetsTable(rows: readonly Row[], concurrency: number): string {
  const lines: string[][] = [];
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

  const steadyKey = rows.some((r) => r.scenario === 'steady' && r.workload.key === 'n100') ? 'n100' : undefined;
  if (steadyKey) {
    const xyn = find(rows, 'steady', steadyKey, 'xyn');
    const floor = find(rows, 'steady', steadyKey, 'node0');
    if (xyn && floor) {
      const r = xyn.medianMs / floor.medianMs;
      lines.push([
        'steady, N = 100: at most 1.5× `node -e 0`',
        `${r.toFixed(2)}× (${seconds(xyn.medianMs)} s vs ${seconds(floor.medianMs)} s)`,
        verdict(r <= 1.5),
      ]);
      // For scale: how far above `node -e 0` a Node program that only reads the ledger already is.
      const socket = find(rows, 'steady', steadyKey, 'nodesock');
      const driver = find(rows, 'steady', steadyKey, 'nodepg');
      if (socket && driver) {
        const times = (s: Summary) => `${(s.medianMs / floor.medianMs).toFixed(2)}×`;
        lines.push([
          '(for scale) Node programs that only read the ledger',
          `bare socket ${times(socket)}, pg driver ${times(driver)} \`node -e 0\`; xyn-migrate ${(xyn.medianMs / driver.medianMs).toFixed(2)}× the pg floor`,
          '–',
        ]);
      }
    }
    const nodePeers = rows.filter(
      (r) => r.scenario === 'steady' && r.workload.key === steadyKey && r.tool.role === 'peer' && r.tool.runtime === 'node' && r.summary,
    );
    if (xyn && nodePeers.length > 0) {
      const best = nodePeers.reduce((a, b) => ((a.summary?.medianMs ?? Infinity) <= (b.summary?.medianMs ?? Infinity) ? a : b));
      const bestMs = best.summary?.medianMs ?? Infinity;
      lines.push([
        'steady, N = 100: faster than every Node peer',
        `xyn ${seconds(xyn.medianMs)} s, best Node peer ${best.tool.label} ${seconds(bestMs)} s`,
        verdict(xyn.medianMs < bestMs),
      ]);
    }
  }

  const applyKey = ['n1000', 'n100'].find((k) => rows.some((r) => r.scenario === 'apply' && r.workload.key === k));
  if (applyKey) {
    const label = applyKey === 'n1000' ? 'N = 1000' : 'N = 100 (the target is on 1000, not in this run)';
    const xyn = find(rows, 'apply', applyKey, 'xyn');
    const floor = find(rows, 'apply', applyKey, 'psql1');
    if (xyn && floor) {
      const r = xyn.medianMs / floor.medianMs;
      lines.push([
        `apply, ${label}: within 1.2× \`psql -1\``,
        `${r.toFixed(2)}× (${seconds(xyn.medianMs)} s vs ${seconds(floor.medianMs)} s)`,
        verdict(r <= 1.2),
      ]);
    }
    const peers = rows.filter((r) => r.scenario === 'apply' && r.workload.key === applyKey && r.tool.role === 'peer' && r.summary);
    if (xyn && peers.length > 0) {
      const best = peers.reduce((a, b) => ((a.summary?.medianMs ?? Infinity) <= (b.summary?.medianMs ?? Infinity) ? a : b));
      const bestMs = best.summary?.medianMs ?? Infinity;
      lines.push([
        `apply, ${label}: faster than every peer`,
        `xyn ${seconds(xyn.medianMs)} s, best peer ${best.tool.label} ${seconds(bestMs)} s`,
        verdict(xyn.medianMs < bestMs),
      ]);
    }
  }

  for (const workload of [...new Set(rows.filter((r) => r.scenario === 'concurrent').map((r) => r.workload))]) {
    const together = find(rows, 'concurrent', workload.key, 'xyn');
    const single = find(rows, 'steady', workload.key, 'xyn');
    if (together && single) {
      const r = together.medianMs / single.medianMs;
      lines.push([
        `${concurrency} at once, ${workload.label}: within 3× one steady run`,
        `${r.toFixed(2)}× (${seconds(together.medianMs)} s vs ${seconds(single.medianMs)} s)`,
        verdict(r <= 3),
      ]);
    }
  }

  const xynRows = rows.filter((r) => r.tool.key === 'xyn' && r.summary?.peakRssKiB !== undefined);
  if (xynRows.length > 0) {
    const worst = xynRows.reduce((a, b) => ((a.summary?.peakRssKiB ?? 0) >= (b.summary?.peakRssKiB ?? 0) ? a : b));
    const kib = worst.summary?.peakRssKiB ?? 0;
    lines.push([
      'peak RSS under 80 MiB in every scenario',
      `highest ${mebibytes(kib)} MiB (${worst.scenario}, ${worst.workload.label})`,
      verdict(kib < 80 * 1024),
    ]);
  }
  if (lines.length === 0) return '';
  return `### Issue #6 targets, checked against this run\n\n${markdownTable(['target', 'measured', 'verdict'], lines, new Set())}\n`;
}

/** The diagnostic pass: round trips, connections, transactions, WAL fsyncs per run. */
export function profileTable(rows: readonly ProfileRow[]): string {
  if (rows.length === 0) return '';
  const dash = '–';
  const body = rows.map((r) => [
    r.workload.label,
    r.tool.label,
    r.apply ? String(r.apply.roundTrips) : dash,
    r.apply ? String(r.apply.connections) : dash,
    r.apply ? String(r.apply.transactions) : dash,
    r.apply ? String(r.apply.walFsyncs) : dash,
    r.apply ? (r.apply.walBytes / 1024 / 1024).toFixed(1) : dash,
    r.steady ? String(r.steady.roundTrips) : dash,
    r.steady ? String(r.steady.connections) : dash,
    r.steady ? String(r.steady.transactions) : dash,
  ]);
  const header = [
    'workload',
    'tool',
    'apply: round trips',
    'connections',
    'transactions',
    'WAL fsyncs',
    'WAL MiB',
    'steady: round trips',
    'connections',
    'transactions',
  ];
  const notes = rows.filter((r) => r.failure).map((r) => `- ${r.tool.label}: ${r.failure ?? ''}`);
  return `### Diagnostics: what one run does on the wire and in the server (${rows[0]?.workload.label ?? ''}, one untimed run through a counting proxy)\n\n${markdownTable(header, body, new Set([2, 3, 4, 5, 6, 7, 8, 9]))}\n${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}`;
}
