import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { variables, type VariableRow } from '../../src/config/variables.js';
import { TABLE_BEGIN, TABLE_END, variablesMarkdown } from '../../src/config/reference.js';

describe('the configuration table', () => {
  it("docs/configuration.md's variable table is the one generated from src/config/variables.ts (npm run docs:config)", () => {
    const page = readFileSync('docs/configuration.md', 'utf8');
    assert.ok(page.includes(TABLE_BEGIN) && page.includes(TABLE_END), 'docs/configuration.md has the table markers');
    const inPage = page.slice(page.indexOf(TABLE_BEGIN) + TABLE_BEGIN.length, page.indexOf(TABLE_END)).trim();
    assert.equal(inPage, variablesMarkdown());
    for (const name of ['XYN_LEDGER_SCHEMA', 'XYN_LEDGER_TABLE', 'XYN_REHEARSE_URL', 'XYN_APPLIED_BY'])
      assert.ok(inPage.includes(`\`${name}\``));
  });

  it('every shown default is what the program holds when the variable is unset', () => {
    for (const [name, row] of Object.entries(variables) as [
      string,
      VariableRow<{ default?: unknown; _parse: (raw: string) => unknown }>,
    ][]) {
      const held = row.spec.default;
      if (held === undefined) continue; // computed (applied_by, termination log) or none
      assert.deepEqual(row.spec._parse(row.shownDefault), held, name);
    }
  });

  it('flags are unique and every row names at least one command', () => {
    const flags = Object.values(variables).flatMap((row: VariableRow<unknown>) => (row.flag ? [row.flag] : []));
    assert.equal(new Set(flags).size, flags.length);
    for (const [name, row] of Object.entries(variables)) assert.ok(row.commands.length > 0, name);
  });
});
