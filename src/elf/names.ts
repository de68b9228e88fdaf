// Names for ELF constants that stay useful for values we do not know (STYLE.md: `EM_0x1234`,
// `SHF_ALLOC+SHF_EXECINSTR+0x100000`). The tables come from data/elf-constants.json.
import type { ConstantTable } from './generated/elf.js';

export function nameOf(table: ConstantTable, value: number, prefix: string): string {
  return table.get(value) ?? `${prefix}0x${value.toString(16)}`;
}

/** Names of the bits set in `value`, joined with '+', with any unknown bits as one hex number. */
export function flagNames(table: ConstantTable, value: number | bigint): string {
  let rest = BigInt(value);
  const names: string[] = [];
  for (const [bit, name] of table) {
    const b = BigInt(bit);
    if (b !== 0n && (rest & b) === b) {
      names.push(name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.length > 0 ? names.join('+') : '0';
}
