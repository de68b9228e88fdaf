// The userland ABI tables (data/abi.json): slot names per ABI version, for the layer linker and
// the reports. The same file generates the SDK header.
import { readAbiFile } from './abi-file.js';

export interface AbiFile {
  abis: Record<string, { slot: number; name: string }[]>;
}

let tables: Map<number, string[]> | null = null;

function load(): Map<number, string[]> {
  if (!tables) {
    const data = readAbiFile();
    tables = new Map(
      Object.entries(data.abis).map(([version, slots]) => [Number(version), [...slots].sort((a, b) => a.slot - b.slot).map((s) => s.name)]),
    );
  }
  return tables;
}

/** Slot names of ABI `version`, slot 0 first, or null for an ABI we have no table for. */
export function slotNames(version: number): string[] | null {
  return load().get(version) ?? null;
}

export function knownAbis(): number[] {
  return [...load().keys()].sort((a, b) => a - b);
}
