// The command line's grammar: each command with its operands and options, one table that
// node:util's parseArgs reads to parse and --help reads to print. (commander, the library used
// before, cost every command 15-20 ms to load, a tenth of a whole rootfs scan; parseArgs is part
// of Node.)
//
// The rules are the usual ones: options and operands in any order; `--name value`, `--name=value`
// and `-o value` (`-o -` names standard output); `--` ends the options; -h or --help anywhere
// before it prints the command's help.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export interface OptionSpec {
  /** The long name, without dashes: `in-place`; its value is found under `inPlace`. */
  name: string;
  short?: string;
  /** The value's placeholder (`<n>`) for an option that takes one. */
  value?: string;
  description: string;
  /** Given more than once, its values are collected (none: an empty list). */
  repeatable?: boolean;
  /** Turns the text into the option's value; throws a UsageError for text it refuses. */
  parse?: (text: string) => unknown;
}

export interface OperandSpec {
  name: string;
  description?: string;
  /** Takes every operand from here on (at least one). */
  variadic?: boolean;
  /** May be left out (only the last operands may be); the command decides whether it is wanted. */
  optional?: boolean;
}

export interface CommandSpec {
  name: string;
  description: string;
  operands: OperandSpec[];
  options: OptionSpec[];
  /** Whatever follows the operands is the command's own, passed on untouched: `[name...]` in help. */
  passOn?: string;
}

export interface ParsedArguments {
  operands: string[];
  /** What a `passOn` command passes on. */
  rest: string[];
  options: Record<string, unknown>;
}

/** The command line asked for help: the text, for standard output. */
export class HelpWanted {
  constructor(readonly text: string) {}
}

const HELP: OptionSpec = { name: 'help', short: 'h', description: 'display help for command' };
const WIDTH = 80;

const key = (name: string) => name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());

/** The arguments after the command's name, checked against its spec (by node:util's parseArgs). */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedArguments | HelpWanted {
  const end = argv.indexOf('--');
  if (argv.slice(0, end < 0 ? argv.length : end).some((a) => a === '-h' || a === '--help')) return new HelpWanted(commandHelp(spec));
  // A command that passes on what follows its operands (it has no options of its own) takes them as they are.
  if (spec.passOn) return checkOperands(spec, { operands: argv.slice(0, spec.operands.length), rest: argv.slice(spec.operands.length), options: {} });
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of spec.options) config[o.name] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}), ...(o.repeatable ? { multiple: true } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${spec.name}: ${message} (syslayer ${spec.name} --help lists the options)`);
  }
  const options: Record<string, unknown> = {};
  for (const o of spec.options) {
    const given = parsed.values[o.name];
    const value = (text: unknown) => (o.parse ? o.parse(text as string) : text);
    if (o.repeatable) options[key(o.name)] = ((given ?? []) as string[]).map(value);
    else if (given !== undefined) options[key(o.name)] = o.value ? value(given) : true;
  }
  return checkOperands(spec, { operands: parsed.positionals, rest: [], options });
}

function checkOperands(spec: CommandSpec, parsed: ParsedArguments): ParsedArguments {
  const { operands } = parsed;
  if (operands.length < spec.operands.filter((o) => !o.optional).length) {
    throw new UsageError(`${spec.name}: missing required argument '${spec.operands[operands.length]!.name}'`);
  }
  if (!spec.operands.some((o) => o.variadic) && operands.length > spec.operands.length) {
    throw new UsageError(`${spec.name}: too many arguments: expected ${spec.operands.length}, got ${operands.length}`);
  }
  return parsed;
}

function operandsUsage(spec: CommandSpec): string {
  const parts = spec.operands.map((o) => (o.optional ? `[${o.name}${o.variadic ? '...' : ''}]` : `<${o.name}${o.variadic ? '...' : ''}>`));
  if (spec.passOn) parts.push(`[${spec.passOn}...]`);
  return parts.join(' ');
}

function usage(spec: CommandSpec): string {
  return `${spec.name}${spec.options.length > 0 ? ' [options]' : ''} ${operandsUsage(spec)}`.trimEnd();
}

/** Rows of a two-column list, the second wrapped to the width. */
function table(rows: [string, string][]): string[] {
  const left = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines: string[] = [];
  for (const [l, r] of rows) {
    const words = r.split(' ');
    let line = `  ${l.padEnd(left)}`;
    let first = true;
    for (const w of words) {
      if (!first && line.length + 1 + w.length > WIDTH) {
        lines.push(line);
        line = ' '.repeat(left + 2) + w;
      } else {
        line += first ? w : ` ${w}`;
      }
      first = false;
    }
    lines.push(line);
  }
  return lines;
}

function optionLabel(o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${o.name}${o.value ? ` ${o.value}` : ''}`;
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: syslayer ${usage(spec)}`, '', spec.description];
  const described = spec.operands.filter((o) => o.description);
  if (described.length > 0) lines.push('', 'Arguments:', ...table(described.map((o) => [o.name, o.description!])));
  lines.push('', 'Options:', ...table([...spec.options, HELP].map((o) => [optionLabel(o), o.description])));
  return `${lines.join('\n')}\n`;
}

const VERSION: OptionSpec = { name: 'version', short: 'V', description: 'print the version' };

export function programHelp(description: string, commands: readonly CommandSpec[], epilogue = ''): string {
  const lines = ['Usage: syslayer [options] [command]', '', description, '', 'Options:', ...table([VERSION, HELP].map((o) => [optionLabel(o), o.description])), '', 'Commands:',
    ...table([...commands.map((c): [string, string] => [usage(c), c.description]), ['help [command]', 'display help for command']])];
  return `${lines.join('\n')}\n${epilogue ? `\n${epilogue}` : ''}`;
}
