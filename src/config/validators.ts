/**
 * The value types of the configuration table (variables.ts): each parses one variable's text and
 * says what shape is wrong in a sentence that names no secret.
 */
import { makeValidator } from 'envalid';
import { isPort, parseDatabaseUrl } from '../target.js';
import { isPlainIdentifier } from '../migrations/ledger-name.js';
import { isMigrationId } from '../migrations/file-rules.js';
import type { RequiredMigrations } from '../engine/planner.js';

function parseSeconds(raw: string): number {
  const trimmed = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new Error(`"${raw}" is not a number of seconds (e.g. 60 or 0.5)`);
  return Math.round(Number(trimmed) * 1000);
}
/** A decimal number of seconds, held as milliseconds. */
export const seconds = makeValidator<number>(parseSeconds);

/** PostgreSQL's timeouts (lock_timeout, statement_timeout) are an int of milliseconds. */
const MAX_SETTING_MS = 2_147_483_647;
/** Seconds that become a PostgreSQL setting: refused here, at start, if the server would refuse them later. */
export const settingSeconds = makeValidator<number>((raw) => {
  const ms = parseSeconds(raw);
  if (ms > MAX_SETTING_MS) {
    throw new Error(`"${raw}" is more than PostgreSQL takes for a timeout: 0 (none) to ${MAX_SETTING_MS / 1000} seconds (about 24 days)`);
  }
  return ms;
});

/** Seconds the program waits with a Node timer, which takes at most 2^31 - 1 ms (longer fires at once). */
export const timerSeconds = makeValidator<number>((raw) => {
  const ms = parseSeconds(raw);
  if (ms > MAX_SETTING_MS) throw new Error(`"${raw}" is longer than can be waited: 0 to ${MAX_SETTING_MS / 1000} seconds (about 24 days)`);
  return ms;
});

export const count = makeValidator<number>((raw) => {
  if (!/^\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number (e.g. 5)`);
  return Number(raw.trim());
});

export const positive = makeValidator<number>((raw) => {
  if (!/^[1-9]\d*$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number of 1 or more (e.g. 4)`);
  return Number(raw.trim());
});

export const onOff = makeValidator<boolean>((raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`"${raw}" is not true or false`);
});

export const identifier = makeValidator<string>((raw) => {
  if (!isPlainIdentifier(raw)) {
    throw new Error(`"${raw}" is not a plain lower-case SQL identifier (letters, digits, _)`);
  }
  return raw;
});

export const requiredList = makeValidator<RequiredMigrations>((raw) => {
  const v = raw.trim();
  if (v === 'all') return { kind: 'all' };
  const ids = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = ids.filter((id) => !isMigrationId(id));
  if (bad.length > 0) {
    throw new Error(`${bad.map((b) => `"${b}"`).join(', ')} is not a migration id like 001_initial_schema (or use "all")`);
  }
  return { kind: 'list', ids };
});

export const shard = makeValidator<{ index: number; count: number }>((raw) => {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1 && index >= 0 && index < count)) throw new Error(`"${raw}" is not a shard i/n with 0 ≤ i < n (e.g. 0/4)`);
  return { index, count };
});

/** Secrets are never echoed: these validators only say what shape is wrong. */
export const secretText = makeValidator<string>((raw) => raw);

/** libpq's PGPORT: one port, or one per PGHOST entry (p1,p2). */
export const portList = makeValidator<string>((raw) => {
  if (!raw.split(',').every((port) => port === '' || isPort(port)))
    throw new Error(`"${raw}" is not a TCP port (or a comma list of them, one per PGHOST)`);
  return raw;
});

export const secretUrl = makeValidator<string>((raw) => {
  parseDatabaseUrl(raw);
  return raw;
});
