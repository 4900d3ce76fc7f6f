/**
 * A lint finding as people and scripts see it, and the error that makes `lint` exit 1 when there
 * is any.
 */
import { ExitCode, XynError } from '../errors.js';
import { lintRules, type RuleId } from './rules.js';

export interface Finding {
  /** the migration's file name, e.g. 006_add_run_labels.sql */
  readonly file: string;
  /** 1-based, in characters, like the runner's own file:line:column */
  readonly line: number;
  readonly column: number;
  readonly rule: RuleId;
  /** what is wrong at this place */
  readonly message: string;
  /** why the rule exists */
  readonly why: string;
  /** how to fix it */
  readonly fix: string;
}

export interface LintReport {
  /** how many migration files were read */
  readonly files: number;
  readonly findings: readonly Finding[];
}

export function newFinding(file: string, position: { line: number; column: number }, rule: RuleId, message: string, fix?: string): Finding {
  return { file, line: position.line, column: position.column, rule, message, why: lintRules[rule].why, fix: fix ?? lintRules[rule].fix };
}

export function location(finding: Finding): string {
  return `${finding.file}:${finding.line}:${finding.column}`;
}

/** "3 lint findings in 2 files." — the one sentence the CLI logs and writes to the termination log. */
export function summary(report: LintReport): string {
  const count = report.findings.length;
  if (count === 0) return `No lint findings in ${plural(report.files, 'migration file')}.`;
  const files = new Set(report.findings.map((f) => f.file)).size;
  return `${plural(count, 'lint finding')} in ${plural(files, 'file')}.`;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** `lint` found something: exit 1, like a migration that would fail. */
export class LintFindings extends XynError {
  readonly exitCode = ExitCode.migrationFailed;
  constructor(report: LintReport) {
    super(summary(report), { findings: report.findings.length, rules: [...new Set(report.findings.map((f) => f.rule))] });
  }
}
