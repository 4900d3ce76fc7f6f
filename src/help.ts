/**
 * The program's --help and each command's, made from the configuration table
 * (config/variables.ts): a command shows only the flags it reads, each with what it does, its
 * unit, its default and its variable, then the variables it reads that have no flag.
 */
import { flagRows, variables, type CommandName, type VariableRow } from './config/variables.js';
import { version } from './version.js';

/** A flag that belongs to one command and stands for no variable (e.g. a confirmation). */
export interface OwnFlag {
  readonly type: 'string' | 'boolean';
  /** what its value looks like, for a string flag (`id`, `text`) */
  readonly unit?: string;
  readonly description: string;
}

export interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
  /** what --json prints for this command, when it prints a document on success */
  readonly json?: string;
  /** the flags only this command takes, beside those of the configuration table */
  readonly flags?: Readonly<Record<string, OwnFlag>>;
}

const WIDTH = 100;
const FLAG_COLUMN = 32;

/** `text` wrapped to the width, every line after the first indented to `indent`. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function entry(left: string, text: string): string {
  const head = `  ${left}`;
  const pad = head.length <= FLAG_COLUMN - 2 ? head.padEnd(FLAG_COLUMN) : `${head}\n${' '.repeat(FLAG_COLUMN)}`;
  return `${pad}${wrap(text, FLAG_COLUMN)}`;
}

const defaultText = (row: VariableRow<unknown>) => (row.shownDefault === '—' ? '' : `; default ${row.shownDefault}`);

function flagLine(flag: string, variable: string, row: VariableRow<unknown>): string {
  const value = row.switch ? '' : ` <${row.unit ?? 'value'}>`;
  return entry(`--${flag}${value}`, `${row.description} (${variable}${defaultText(row)})`);
}

function variableLine(variable: string, row: VariableRow<unknown>): string {
  const unit = row.unit ? ` <${row.unit}>` : '';
  return entry(`${variable}${unit}`, `${row.description}${row.shownDefault === '—' ? '' : ` (default ${row.shownDefault})`}`);
}

const rows = Object.entries(variables) as [string, VariableRow<unknown>][];

export function commandHelp(name: CommandName, command: CommandHelp): string {
  const own = Object.entries(command.flags ?? {}).map(([flag, f]) =>
    entry(`--${flag}${f.type === 'string' ? ` <${f.unit ?? 'value'}>` : ''}`, f.description),
  );
  const flags = [
    ...own,
    ...flagRows.filter(([, , row]) => row.commands.includes(name)).map(([flag, variable, row]) => flagLine(flag, variable, row)),
  ];
  if (command.json) flags.push(entry('--json', command.json));
  flags.push(entry('-h, --help', 'this text'));
  const environment = rows.filter(([, row]) => row.flag === undefined && row.commands.includes(name));
  return [
    `Usage: xyn-migrate ${command.usage} [flags]`,
    '',
    wrap(`${command.summary}.`, 0),
    '',
    'Flags (one naming a variable stands for it, and wins over it):',
    ...flags,
    ...(environment.length === 0
      ? []
      : ['', 'Environment (no flag):', ...environment.map(([variable, row]) => variableLine(variable, row))]),
    '',
    'Durations are in seconds, a decimal number (2, 0.5). A command given --json that fails prints {"error": {"exit_code", "message", …}}.',
    '',
  ].join('\n');
}

export function programHelp(commands: Readonly<Record<CommandName, CommandHelp>>): string {
  const commandLines = Object.entries(commands).map(([name, c]) => entry(name, c.summary));
  return [
    `xyn-migrate ${version} — the PostgreSQL migration job for containers`,
    '',
    'Usage: xyn-migrate [command] [flags]     (no command = migrate)',
    '       xyn-migrate help <command>        (or xyn-migrate <command> --help: its flags, units, defaults and variables)',
    '',
    'Commands:',
    ...commandLines,
    entry('help [command]', 'this text, or one command’s'),
    '',
    'Every variable (flags stand for them; see each command’s --help):',
    ...rows.map(([variable, row]) =>
      entry(
        `${variable}${row.flag ? ` (--${row.flag})` : ''}`,
        `${row.description}${row.shownDefault === '—' ? '' : ` (default ${row.shownDefault})`}`,
      ),
    ),
    '',
    'Other flags: --json (a result document on stdout), -h/--help, -v/--version.',
    '',
    'Exit codes: 0 done, 1 migration failed, 2 invalid configuration, 3 PostgreSQL unreachable or',
    'refusing, 4 lock timeout, 5 verification failed, 130/143 stopped by SIGINT/SIGTERM.',
    '',
  ].join('\n');
}
