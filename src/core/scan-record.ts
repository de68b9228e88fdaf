// Turns the compact record the core wrote (layout: data/scan-record.json) into typed facts. Strings
// point into the file's bytes, which are still in WebAssembly memory when this runs.
import {
  SCAN_RECORD_AT as AT, SR_NONE, SR_STATUS_ELF, SR_STATUS_NOT_ELF, SR_STATUS_NEED_BYTES, RESERVATION_BITS,
  PRESENT_ABI_TAG, PRESENT_DYNAMIC, PRESENT_FLAGS, PRESENT_FLAGS_1, PRESENT_RESERVATION,
  PRESENT_SL_ABI, PRESENT_SL_BIND, PRESENT_SL_LAYER,
} from './generated/scan-record.js';
import { EM_TABLE, ELFOSABI_TABLE, SHF_TABLE, PF_TABLE, SHT } from '../elf/generated/elf.js';
import { nameOf, flagNames } from '../elf/names.js';
import type { ElfFacts, ElfTypeName, ReservationFacts, SyslayerFacts } from './facts.js';


/** What a scan says of a file once all the bytes it needed were loaded. */
export type ScanResult = Exclude<DecodedRecord, { status: 'need-bytes' }>;

export type DecodedRecord =
  | { status: 'elf'; facts: ElfFacts }
  | { status: 'not-elf' }
  | { status: 'need-bytes'; offset: number; length: number }
  | { status: 'error'; error: string; errorOffset: number };

const ELF_TYPES: Record<number, ElfTypeName> = { 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };
const ABI_TAG_OS = ['Linux', 'Hurd', 'Solaris', 'FreeBSD', 'NetBSD', 'Syllable'];

export function kernelVersionText(v: number): string {
  return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

// Names of machines and OS ABIs, made once per value: every file of a scan asks again.
const machineNames = new Map<number, string>();
const osabiNames = new Map<number, string>();
const cachedName = (cache: Map<number, string>, table: typeof EM_TABLE, value: number, prefix: string) => {
  let name = cache.get(value);
  if (name === undefined) cache.set(value, (name = nameOf(table, value, prefix).slice(prefix.length)));
  return name;
};

// Names of reservation flags, made once per value for the same reason.
const sectionFlagNames = new Map<bigint, string>();
const segmentFlagNames = new Map<number, string>();
const cachedFlags = <T extends number | bigint>(cache: Map<T, string>, table: typeof SHF_TABLE, value: T) => {
  let names = cache.get(value);
  if (names === undefined) cache.set(value, (names = flagNames(table, value)));
  return names;
};

// One DataView and one Buffer per memory buffer (it changes only when the memory grows): strings
// are decoded from the Buffer in place, with no Buffer made for each (3,004 ELF files of a client
// image: a tenth of their decoding time was the garbage of those).
let viewBuffer: ArrayBufferLike | null = null;
let cachedView: DataView | null = null;
let cachedBytes: Buffer | null = null;

/** `fileBase` is the address of the file's bytes: string fields are offsets into the file. */
export function decodeScanRecord(memory: WebAssembly.Memory, record: number, fileBase: number): DecodedRecord {
  if (viewBuffer !== memory.buffer) {
    viewBuffer = memory.buffer;
    cachedView = new DataView(memory.buffer);
    cachedBytes = Buffer.from(memory.buffer);
  }
  const view = cachedView!;
  const bytes = cachedBytes!;
  // Fields are read at offsets known statically (AT.x): this decoder runs once per ELF file.
  const u32 = (at: number) => view.getUint32(record + at, true);
  const u64 = (at: number) => view.getBigUint64(record + at, true);
  const encoded = (at: number, encoding: 'utf8' | 'hex', base = fileBase): string | null => {
    const off = u32(at);
    if (off === SR_NONE) return null;
    return bytes.toString(encoding, base + off, base + off + u32(at + 4));
  };
  const text = (at: number, base = fileBase) => encoded(at, 'utf8', base);
  const hexBytes = (at: number) => encoded(at, 'hex');
  const hex = (v: bigint | number) => `0x${v.toString(16)}`;

  const status = u32(AT.status);
  if (status === SR_STATUS_NOT_ELF) return { status: 'not-elf' };
  if (status === SR_STATUS_NEED_BYTES) {
    return { status: 'need-bytes', offset: Number(u64(AT.needOffset)), length: Number(u64(AT.needLength)) };
  }
  if (status !== SR_STATUS_ELF) {
    return { status: 'error', error: text(AT.error, 0) ?? 'unknown error', errorOffset: Number(u64(AT.errorOffset)) };
  }

  const present = u32(AT.present);
  const has = (bit: number) => (present & bit) !== 0;
  const typeValue = u32(AT.type);
  const machine = u32(AT.machine);
  const osabi = u32(AT.osabi);

  const needed: string[] = [];
  const count = u32(AT.neededCount);
  const list = u32(AT.neededPtr);
  for (let i = 0; i < count; i++) {
    const off = view.getUint32(list + i * 8, true);
    const len = view.getUint32(list + i * 8 + 4, true);
    needed.push(bytes.toString('utf8', fileBase + off, fileBase + off + len));
  }

  let reservation: ReservationFacts | null = null;
  if (has(PRESENT_RESERVATION)) {
    const segment = u32(AT.resSegment);
    const sectionType = u32(AT.resSectionType);
    const problemBits = u32(AT.resProblems);
    const problems: string[] = [];
    if (problemBits !== 0) RESERVATION_BITS.forEach((name, bit) => (problemBits & bit) !== 0 && problems.push(name));
    reservation = {
      section: u32(AT.resSection),
      sectionType: sectionType === SHT.NOBITS ? 'NOBITS' : sectionType === SHT.PROGBITS ? 'PROGBITS' : `0x${sectionType.toString(16)}`,
      address: hex(u64(AT.resAddr)),
      size: Number(u64(AT.resSize)),
      sectionFlags: cachedFlags(sectionFlagNames, SHF_TABLE, u64(AT.resSectionFlags)),
      alignment: Number(u64(AT.resAlign)),
      fileOffset: hex(u64(AT.resFileOffset)),
      segment: segment === SR_NONE ? null : segment,
      segmentFlags: segment === SR_NONE ? null : cachedFlags(segmentFlagNames, PF_TABLE, u32(AT.resSegmentFlags)),
      segmentFileSize: segment === SR_NONE ? null : Number(u64(AT.resSegFilesz)),
      problems,
      bound: sectionType === SHT.PROGBITS && segment !== SR_NONE && u64(AT.resSegFilesz) === u64(AT.resSegMemsz),
    };
  }

  let syslayer: SyslayerFacts | null = null;
  if (reservation || has(PRESENT_SL_ABI) || has(PRESENT_SL_LAYER) || has(PRESENT_SL_BIND)) {
    syslayer = {
      abi: has(PRESENT_SL_ABI) ? u32(AT.slAbi) : null,
      abiFlags: has(PRESENT_SL_ABI) ? u32(AT.slAbiFlags) : null,
      reservation,
      bound: reservation?.bound ?? false,
      layer: has(PRESENT_SL_LAYER)
        ? {
            abiMin: u32(AT.layerAbiMin),
            abiMax: u32(AT.layerAbiMax),
            kernelMin: u32(AT.layerKernelMin),
            kernelMinText: kernelVersionText(u32(AT.layerKernelMin)),
            revision: u32(AT.layerRevision),
            name: text(AT.layerName) ?? '',
          }
        : null,
      bindRecord: has(PRESENT_SL_BIND) ? hexBytes(AT.bindRecord) : null,
      refusal: text(AT.refusal, 0),
    };
  }

  const facts: ElfFacts = {
    class: u32(AT.class) === 64 ? 64 : 32,
    endian: u32(AT.endian) === 1 ? 'little' : 'big',
    machine,
    machineName: cachedName(machineNames, EM_TABLE, machine, 'EM_'),
    type: ELF_TYPES[typeValue] ?? `0x${typeValue.toString(16)}`,
    osabi,
    osabiName: cachedName(osabiNames, ELFOSABI_TABLE, osabi, 'ELFOSABI_'),
    abiVersion: u32(AT.abiVersion),
    flags: u32(AT.flags),
    entry: hex(u64(AT.entry)),
    phnum: u32(AT.phnum),
    shnum: u32(AT.shnum),
    interpreter: text(AT.interpreter),
    soname: text(AT.soname),
    needed,
    rpath: text(AT.rpath),
    runpath: text(AT.runpath),
    dtFlags: has(PRESENT_FLAGS) ? u32(AT.dtFlags) : null,
    dtFlags1: has(PRESENT_FLAGS_1) ? u32(AT.dtFlags1) : null,
    linkage: has(PRESENT_DYNAMIC) ? 'dynamic' : 'static',
    buildId: hexBytes(AT.buildId),
    abiTag: has(PRESENT_ABI_TAG)
      ? {
          os: ABI_TAG_OS[u32(AT.abiTagOs)] ?? `OS ${u32(AT.abiTagOs)}`,
          version: `${u32(AT.abiTagMajor)}.${u32(AT.abiTagMinor)}.${u32(AT.abiTagPatch)}`,
        }
      : null,
    syslayer,
  };
  return { status: 'elf', facts };
}
