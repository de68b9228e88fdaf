// The oracle: GNU readelf's view of a file, parsed from its text output. Nothing here comes from
// syslayer's own code or output; the machine and OS/ABI names are readelf's spellings. Plain
// JavaScript so that both the vitest suites and scripts/check-rootfs.mjs use this one parser.
import { execFileSync } from 'node:child_process';

/** The arguments readelf is run with. */
export const READELF_ARGS = ['-W', '-h', '-l', '-d', '-n'];

/** readelf's machine names (binutils 2.40) for the machines of the corpus and common hosts. */
const MACHINES = {
  'Advanced Micro Devices X86-64': 62,
  AArch64: 183,
  ARM: 40,
  'Intel 80386': 3,
  'IBM S/390': 22,
  PowerPC64: 21,
  'MIPS R3000': 8,
  'RISC-V': 243,
  PowerPC: 20,
};

const OSABI = { 'UNIX - System V': 0, 'UNIX - GNU': 3, 'UNIX - Linux': 3 };

/**
 * @typedef {object} ReadelfFacts
 * @property {32|64} class
 * @property {'little'|'big'} endian
 * @property {number} osabi
 * @property {string} type
 * @property {number} machine
 * @property {string} entry
 * @property {number} flags
 * @property {number} phnum
 * @property {number} shnum
 * @property {string|null} interpreter
 * @property {string[]} needed
 * @property {string|null} soname
 * @property {string|null} rpath
 * @property {string|null} runpath
 * @property {string[]|null} dtFlags
 * @property {string[]|null} dtFlags1
 * @property {string|null} buildId
 * @property {{os: string, version: string}|null} abiTag
 */

/** Parses `readelf -W -h -l -d -n` output. @returns {ReadelfFacts} */
export function parseReadelf(text, path) {
  const header = (label) => {
    const m = new RegExp(`^\\s*${label}:\\s+(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`readelf printed no '${label}' for ${path}`);
    return m[1].trim();
  };
  const machineName = header('Machine');
  // readelf prints a machine it has no name for as '<unknown>: 0x1234'.
  const unknownMachine = /^<unknown>: (0x[0-9a-f]+)$/.exec(machineName);
  const machine = unknownMachine ? Number(unknownMachine[1]) : MACHINES[machineName];
  if (machine === undefined) throw new Error(`oracle does not know readelf's machine name '${machineName}' (${path})`);
  const osabiName = header('OS/ABI');
  const osabi = OSABI[osabiName];
  if (osabi === undefined) throw new Error(`oracle does not know readelf's OS/ABI '${osabiName}' (${path})`);
  const dyn = (tag, label) => [...text.matchAll(new RegExp(`\\(${tag}\\)\\s+${label}: \\[(.*)\\]$`, 'gm'))].map((m) => m[1]);
  const flagList = (tag) => {
    const m = new RegExp(`\\(${tag}\\)\\s+(.*)$`, 'm').exec(text);
    return m ? m[1].replace(/^Flags:\s*/, '').trim().split(/\s+/).filter((s) => s !== '') : null;
  };
  // Notes count only when their owner is exactly "GNU": readelf recognises GNU note types by the
  // owner's prefix (a corrupted "GNUU" still shows a build ID), the gABI by the whole name.
  const gnuNote = (type, rest) => new RegExp(`^\\s+GNU\\s+0x[0-9a-f]+\\s+${type}\\b.*${rest}`, 'm').exec(text);
  const abi = gnuNote('NT_GNU_ABI_TAG', 'OS: (\\S+), ABI: (\\d+\\.\\d+\\.\\d+)');
  // Types readelf has no word for ('<unknown>: 7c', 'OS Specific: (fe00)') are spelled as numbers.
  const typeText = header('Type');
  const otherType = /^(?:<unknown>: |OS Specific: \(|Processor Specific: \()([0-9a-f]+)/.exec(typeText);
  return {
    class: header('Class') === 'ELF64' ? 64 : 32,
    endian: /little endian/.test(header('Data')) ? 'little' : 'big',
    osabi,
    type: otherType ? `0x${otherType[1]}` : typeText.split(' ')[0],
    machine,
    entry: header('Entry point address'),
    flags: Number(header('Flags').split(',')[0]),
    phnum: Number(header('Number of program headers')),
    shnum: Number(header('Number of section headers').split(' ')[0]),
    interpreter: /\[Requesting program interpreter: (.*)\]/.exec(text)?.[1] ?? null,
    needed: dyn('NEEDED', 'Shared library'),
    soname: dyn('SONAME', 'Library soname')[0] ?? null,
    rpath: dyn('RPATH', 'Library rpath')[0] ?? null,
    runpath: dyn('RUNPATH', 'Library runpath')[0] ?? null,
    dtFlags: flagList('FLAGS'),
    dtFlags1: flagList('FLAGS_1'),
    buildId: gnuNote('NT_GNU_BUILD_ID', 'Build ID: ([0-9a-f]+)')?.[1] ?? null,
    abiTag: abi ? { os: abi[1], version: abi[2] } : null,
  };
}

/** Runs readelf on one file (throws when readelf fails) and parses what it prints. @returns {ReadelfFacts} */
export function readelf(path) {
  const text = execFileSync('readelf', [...READELF_ARGS, path], {
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString('utf8');
  return parseReadelf(text, path);
}
