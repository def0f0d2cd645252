// Arguments of the commands: node:util parseArgs (strict), every value checked, every refusal
// one line that names the flag.
import { parseArgs } from 'node:util';

/** A problem the user can fix: printed as one line (no stack trace), exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A malformed command line: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** 'string' takes a value; 'boolean' is a switch. */
  type: 'string' | 'boolean';
  /** `<value>` placeholder shown in the help. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ['data.csv']; a trailing '?' marks an optional one. */
  positionals: string[];
  flags: Record<string, FlagSpec>;
  examples: string[];
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function helpText(spec: CommandSpec): string {
  const width = Math.max(...Object.entries(spec.flags).map(([n, f]) => n.length + (f.value ? f.value.length + 1 : 0)), 4) + 4;
  const args = spec.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : p));
  const lines = [
    `usage: mlpstream ${spec.name} ${[...args, '[options]'].join(' ')}`,
    '',
    spec.summary,
    '',
    'options:',
    ...Object.entries(spec.flags).map(([name, f]) => `  --${`${name}${f.value ? ` ${f.value}` : ''}`.padEnd(width)}${f.help}`),
    `  --${'help'.padEnd(width)}this help`,
    '',
    spec.examples.length > 1 ? 'examples:' : 'example:',
    ...spec.examples.map((e) => `  ${e}`),
  ];
  return lines.join('\n') + '\n';
}

/** Parses argv for one command; null when --help was asked (the help is printed). */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed | null {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, f] of Object.entries(spec.flags)) options[name] = { type: f.type };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${spec.name}: ${argumentProblem(error as Error & { code?: string })} (see mlpstream ${spec.name} --help)`);
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(spec));
    return null;
  }
  const required = spec.positionals.filter((p) => !p.endsWith('?'));
  if (parsed.positionals.length < required.length || parsed.positionals.length > spec.positionals.length) {
    const want = spec.positionals.map((p) => p.replace(/\?$/, ' (optional)')).join(', ');
    throw new UsageError(
      `${spec.name} takes ${want || 'no arguments'}; got ${parsed.positionals.length ? parsed.positionals.map((p) => JSON.stringify(p)).join(', ') : 'none'} (see mlpstream ${spec.name} --help)`,
    );
  }
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

/** parseArgs' own messages, reworded to name the flag the way the user typed it. */
function argumentProblem(error: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' <]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? error.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take/.test(error.message)) return `flag ${flag} takes no value`;
      // parseArgs will not take a value that starts with '-' after a space.
      if (/ambiguous/.test(error.message)) return `flag ${flag} needs a value (write ${flag}=-1 for one starting with '-')`;
      return `flag ${flag} needs a value`;
    default:
      return error.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Values

export function required(values: Parsed['values'], flag: string, command: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`${command}: --${flag} is required (see mlpstream ${command} --help)`);
  return v;
}

const INTEGER = /^[+]?\d+$/;
// A plain decimal number: what a person types. Number() alone would also take '', '0x1f' and 'Infinity'.
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function integerFlag(value: string | boolean | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const s = String(value).trim();
  const n = Number(s);
  if (!INTEGER.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function numberFlag(
  value: string | boolean | undefined,
  flag: string,
  fallback: number,
  check: (n: number) => boolean,
  rule: string,
): number {
  if (value === undefined) return fallback;
  const s = String(value).trim();
  const n = Number(s);
  if (!DECIMAL.test(s) || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag} must be ${rule}, got ${JSON.stringify(value)}`);
  return n;
}

export function choiceFlag<T extends string>(value: string | boolean | undefined, flag: string, fallback: T, choices: readonly T[]): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(String(value))) {
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** A comma-separated list; '' is the empty list. */
export function listFlag(value: string | boolean | undefined): string[] {
  if (value === undefined || value === '') return [];
  return String(value)
    .split(',')
    .map((s) => s.trim());
}
