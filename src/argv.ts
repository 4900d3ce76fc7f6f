/**
 * The command line read into a command, its flags and its arguments, with our own sentences for
 * what is wrong with it (Node's parseArgs texts speak of positionals and '--'): an unknown flag
 * names the closest ones, a switch given a value and a flag missing its value say so.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './errors.js';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** the variable the flag stands for, when there is one */
  readonly variable?: string;
  /** the commands that take the flag; undefined = every command */
  readonly commands?: readonly string[];
}

export interface ParsedArgv {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

const optionsOf = (flags: Readonly<Record<string, FlagSpec>>) =>
  Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}) }]),
  );

/**
 * Parses `argv` against `allFlags`, of which the command takes those whose `commands` name it.
 * `commandOf` tells which command the first argument names (the default one when there is none),
 * or undefined when it names no command; that error comes first.
 */
export function parseArgv(
  argv: readonly string[],
  allFlags: Readonly<Record<string, FlagSpec>>,
  commandOf: (first: string | undefined) => string | undefined,
  unknownCommand: (name: string) => ConfigError,
): ParsedArgv {
  const { tokens } = parseArgs({ args: [...argv], options: optionsOf(allFlags), allowPositionals: true, strict: false, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  const firstPositional = first?.kind === 'positional' ? first.value : undefined;
  const asksForHelp = tokens.some((t) => t.kind === 'option' && t.name === 'help');
  const command = commandOf(firstPositional) ?? (asksForHelp ? 'xyn-migrate' : undefined);
  if (command === undefined) throw unknownCommand(firstPositional ?? '');
  // asking for help, any flag the program knows may stand beside it
  const flags = asksForHelp
    ? allFlags
    : Object.fromEntries(Object.entries(allFlags).filter(([, spec]) => spec.commands?.includes(command) ?? true));
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = flags[token.name];
    const flag = `--${token.name}`;
    const elsewhere = allFlags[token.name]?.commands;
    if (!spec && elsewhere) {
      const owners = elsewhere.length === 1 ? elsewhere[0] : `${elsewhere.slice(0, -1).join(', ')} and ${elsewhere.at(-1)}`;
      throw new ConfigError(`The flag ${flag} belongs to ${owners}, not to ${command}; see xyn-migrate ${elsewhere[0]} --help.`, { flag });
    }
    if (!spec) throw new ConfigError(unknownFlagSentence(token.rawName, command, Object.keys(flags)), { flag: token.rawName });
    const stands = spec.variable ? ` (it sets ${spec.variable})` : '';
    if (spec.type === 'boolean' && token.value !== undefined) {
      throw new ConfigError(`The flag ${flag} takes no value; write ${flag} alone${stands}.`, { flag });
    }
    if (spec.type === 'string' && token.value === undefined) {
      throw new ConfigError(`The flag ${flag} needs a value, e.g. ${flag}=<value> or ${flag} <value>${stands}.`, { flag });
    }
    if (spec.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      throw new ConfigError(`The flag ${flag} is followed by ${token.value}, not by a value; write ${flag}=<value>${stands}.`, { flag });
    }
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: optionsOf(flags), allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (error) {
    // every case parseArgs refuses is named above; this is the net under them, without its text
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`The command line of ${command} could not be read (${code}); see xyn-migrate ${command} --help.`);
  }
}

/** "Unknown flag --lock-timout for migrate; did you mean --lock-timeout? The flags are: …" */
export function unknownFlagSentence(rawName: string, command: string, flagNames: readonly string[]): string {
  const given = rawName.replace(/^-+/, '');
  const ranked = [...flagNames]
    .map((name) => ({ name, distance: editDistance(given, name) }))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  const best = ranked[0];
  const guess = best && best.distance <= Math.max(2, Math.floor(given.length / 3)) ? `; did you mean --${best.name}?` : '.';
  return `Unknown flag ${rawName} for ${command}${guess} The flags are: ${ranked.map((r) => `--${r.name}`).join(', ')}. See xyn-migrate ${command} --help.`;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
