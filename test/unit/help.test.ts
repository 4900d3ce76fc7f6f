import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandHelp } from '../../src/help.js';
import { variables } from '../../src/config/variables.js';

describe('commandHelp', () => {
  it("lists the command's own flags first, then exactly the table's flags that name the command", () => {
    const text = commandHelp('baseline', {
      usage: 'baseline <id>',
      summary: 'record migrations as applied',
      flags: { yes: { type: 'boolean', description: 'the confirmation' }, reason: { type: 'string', unit: 'text', description: 'why' } },
    });
    const listed = [...text.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    const fromTable = Object.values(variables).flatMap((row) =>
      row.flag && (row.commands as readonly string[]).includes('baseline') ? [`--${row.flag}`] : [],
    );
    assert.deepEqual(listed, ['--yes', '--reason', ...fromTable]);
    assert.match(text, /--reason <text> +why\n/);
    assert.ok(fromTable.includes('--lock-timeout') && !fromTable.includes('--canary'));
  });
});
