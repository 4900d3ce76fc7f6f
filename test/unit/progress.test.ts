import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { terminalProgress } from '../../src/progress.js';

describe('terminalProgress', () => {
  it('shows a slow statement with its control characters escaped, never raw', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'] });
    try {
      const written: string[] = [];
      const progress = terminalProgress((text) => written.push(text), 200);
      progress.file(1, 1, '001_slow');
      progress.statement('UPDATE t SET v = 1 /* \x1b]0;owned\x07 */');
      mock.timers.tick(3000);
      progress.done();
      const line = written.find((w) => w.includes('UPDATE'));
      assert.ok(line, written.join('|'));
      assert.ok(!line.slice(5).includes('\x1b') && !line.includes('\x07'), JSON.stringify(line));
      assert.match(line, /\\x1b\]0;owned\\x07/);
    } finally {
      mock.timers.reset();
    }
  });
});
