// The outside programs the layer-linker oracle runs (binutils, lld), per architecture. A missing
// tool fails the test with its name: the oracle never quietly skips (.ci/run installs them).
import { execFile, spawnSync } from 'node:child_process';

export type ArchName = 'x86_64' | 'aarch64';
export type LinkerName = 'GNU ld' | 'lld';

export interface ArchTools {
  as: string;
  ld: string;
  objdump: string;
  /** objdump -m for raw bytes. */
  bfdArch: string;
  /** ld.lld -m: lld has one binary for every target. */
  lldEmulation: string;
  /**
   * lld 14 rewrites an adjacent ADRP + ADD (or GOT LDR) into NOP + ADR when the target is near:
   * an optimisation, not the value of a relocation. --no-relax asks it to apply relocations as
   * written; GNU ld does no such rewriting on AArch64. On x86-64 relaxation stays on: it is how
   * both linkers turn GOTPCRELX loads into the same direct forms ours makes.
   * -O0: lld 14 lays out the strings of a SHF_MERGE|SHF_STRINGS section (.rodata.str1.1) in hash
   * order; at -O0 it keeps them as the input has them, as GNU ld and ours do.
   */
  lldExtra: string[];
}

export const TOOLS: Record<ArchName, ArchTools> = {
  x86_64: { as: 'as', ld: 'ld', objdump: 'objdump', bfdArch: 'i386:x86-64', lldEmulation: 'elf_x86_64', lldExtra: ['-O0'] },
  aarch64: {
    as: 'aarch64-linux-gnu-as', ld: 'aarch64-linux-gnu-ld', objdump: 'aarch64-linux-gnu-objdump', bfdArch: 'aarch64',
    lldEmulation: 'aarch64linux', lldExtra: ['-O0', '--no-relax'],
  },
};

/** Runs a tool and returns its stdout; any failure (including a missing tool) throws with stderr. */
export function run(tool: string, args: string[], cwd?: string): string {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${tool}: ${r.error.message} (the link oracle needs binutils, binutils-aarch64-linux-gnu and lld)`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** run, without blocking: the links of one layer go side by side. */
export function runAsync(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
