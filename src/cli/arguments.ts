// The command line's grammar: each command with its operands and options, one table that both the
// parser and --help read. Written here rather than taken from a library: loading commander cost
// every command 15-20 ms (its module and child_process), a tenth of a whole rootfs scan.
//
// The rules are the usual ones: options and operands in any order; `--name value`, `--name=value`
// and `-o value` (a value is the next argument whatever it starts with, so `-o -` names standard
// output); `--` ends the options; -h or --help anywhere prints the command's help.
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

/** The arguments after the command's name, checked against its spec. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedArguments | HelpWanted {
  const options: Record<string, unknown> = {};
  for (const o of spec.options) if (o.repeatable) options[key(o.name)] = [];
  const operands: string[] = [];
  const rest: string[] = [];
  const byName = new Map(spec.options.map((o) => [`--${o.name}`, o]));
  for (const o of spec.options) if (o.short) byName.set(`-${o.short}`, o);
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (spec.passOn && operands.length === spec.operands.length) break;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg === '-h' || arg === '--help') return new HelpWanted(commandHelp(spec));
    if (arg.length < 2 || !arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const option = byName.get(flag);
    if (!option) throw new UsageError(`${spec.name}: unknown option '${flag}' (syslayer ${spec.name} --help lists them)`);
    let value: unknown = true;
    if (option.value) {
      let text: string;
      if (eq >= 0) text = arg.slice(eq + 1);
      else if (i + 1 < argv.length) text = argv[++i]!;
      else throw new UsageError(`${spec.name}: option '${flag} ${option.value}' wants a value`);
      value = option.parse ? option.parse(text) : text;
    } else if (eq >= 0) {
      throw new UsageError(`${spec.name}: option '${flag}' takes no value`);
    }
    if (option.repeatable) (options[key(option.name)] as unknown[]).push(value);
    else options[key(option.name)] = value;
  }
  for (; i < argv.length; i++) (spec.passOn ? rest : operands).push(argv[i]!);
  const variadic = spec.operands.some((o) => o.variadic);
  if (operands.length < spec.operands.length) {
    throw new UsageError(`${spec.name}: missing required argument '${spec.operands[operands.length]!.name}'`);
  }
  if (!variadic && operands.length > spec.operands.length) {
    throw new UsageError(`${spec.name}: too many arguments: expected ${spec.operands.length}, got ${operands.length}`);
  }
  return { operands, rest, options };
}

function operandsUsage(spec: CommandSpec): string {
  const parts = spec.operands.map((o) => `<${o.name}${o.variadic ? '...' : ''}>`);
  if (spec.passOn) parts.push(`[${spec.passOn}...]`);
  return parts.join(' ');
}

function usage(spec: CommandSpec): string {
  return `${spec.name}${spec.options.length > 0 ? ' [options]' : ''} ${operandsUsage(spec)}`;
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

export function programHelp(description: string, commands: readonly CommandSpec[]): string {
  const lines = ['Usage: syslayer [options] [command]', '', description, '', 'Options:', ...table([[optionLabel(HELP), HELP.description]]), '', 'Commands:',
    ...table([...commands.map((c): [string, string] => [usage(c), c.description]), ['help [command]', 'display help for command']])];
  return `${lines.join('\n')}\n`;
}
