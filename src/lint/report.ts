/**
 * Lint results for a person (a table, then each rule found once with why and how to fix, so the
 * table stays one line per finding) and for scripts (an array of findings).
 */
import { table } from '../tables.js';
import { location, summary, type Finding, type LintReport } from './findings.js';
import { lintRules } from './rules.js';

export function lintText(report: LintReport, colour: boolean): string {
  if (report.findings.length === 0) return `${summary(report)}\n`;
  const rows = report.findings.map((finding) => [location(finding), finding.rule, finding.message]);
  const rules = [...new Set(report.findings.map((finding) => finding.rule))];
  const bold = (text: string) => (colour ? `\x1b[1m${text}\x1b[0m` : text);
  const explained = rules.map((rule) => `${bold(rule)}: ${lintRules[rule].why}\n  fix: ${lintRules[rule].fix}`);
  return `${table(['where', 'rule', 'finding'], rows)}\n${explained.join('\n')}\n\n${summary(report)}\n`;
}

export function lintJson(findings: readonly Finding[]): string {
  return `${JSON.stringify(findings, null, 2)}\n`;
}
