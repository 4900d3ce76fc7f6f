/**
 * pino to stderr (stdout is for results only), synchronous so that nothing is lost at exit,
 * through `scrub` so that no secret can reach the stream.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { printable } from './printable.js';
import { scrub } from './secrets.js';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

const stderr = { write: (line: string) => void writeSync(2, scrub(line)) };

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const prettyOmit = new Set(['level', 'severity', 'time', 'msg', 'pid', 'hostname', 'name']);

/**
 * One readable line per record for a person at a terminal; JSON stays the default. Scrubbed
 * first (a secret is found as it is), then escaped: a newline or ANSI escape in a value cannot
 * forge a second line or reach the terminal.
 */
const prettyStderr = {
  write(line: string) {
    const record = JSON.parse(line) as Record<string, unknown>;
    const time = new Date(record.time as number).toISOString().slice(11, 23);
    const level = levelNames[record.level as number] ?? String(record.level);
    const rest = Object.entries(record)
      .filter(([key]) => !prettyOmit.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const msg = typeof record.msg === 'string' ? record.msg : '';
    writeSync(2, `${printable(scrub(`${time} ${level.padEnd(5)} ${msg}${rest ? `  ${rest}` : ''}`))}\n`);
  },
};

export function createLogger(level: string = 'info', format: LogFormat = 'json'): Logger {
  return pino(
    {
      name: 'xyn-migrate',
      level: level,
      base: { pid: process.pid },
      redact: { paths: ['password', '*.password', 'connectionString', '*.connectionString'], censor: '[redacted]' },
      formatters: { level: (label, number) => ({ level: number, severity: label }) },
    },
    format === 'pretty' ? prettyStderr : stderr,
  );
}
