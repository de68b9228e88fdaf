// Turns the compact record the core wrote (layout: data/scan-record.json) into typed facts. Strings
// point into the file's bytes, which are still in WebAssembly memory when this runs.
import {
  SCAN_RECORD, SR_NONE, SR_STATUS_ELF, SR_STATUS_NOT_ELF, SR_STATUS_NEED_BYTES, RESERVATION_BITS,
  PRESENT_ABI_TAG, PRESENT_DYNAMIC, PRESENT_FLAGS, PRESENT_FLAGS_1, PRESENT_RESERVATION,
  PRESENT_SL_ABI, PRESENT_SL_BIND, PRESENT_SL_LAYER,
} from './generated/scan-record.js';
import { EM_TABLE, ELFOSABI_TABLE, SHF_TABLE, PF_TABLE, SHT } from '../elf/generated/elf.js';
import { nameOf, flagNames } from '../elf/names.js';
import type { ElfFacts, ElfTypeName, ReservationFacts, SyslayerFacts } from './facts.js';

type Field = keyof typeof SCAN_RECORD;

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

/** `fileBase` is the address of the file's bytes: string fields are offsets into the file. */
export function decodeScanRecord(memory: WebAssembly.Memory, record: number, fileBase: number): DecodedRecord {
  const view = new DataView(memory.buffer);
  const u32 = (f: Field) => view.getUint32(record + SCAN_RECORD[f].offset, true);
  const u64 = (f: Field) => view.getBigUint64(record + SCAN_RECORD[f].offset, true);
  const bytes = (f: Field, base = fileBase): Uint8Array | null => {
    const off = u32(f);
    if (off === SR_NONE) return null;
    return new Uint8Array(memory.buffer, base + off, view.getUint32(record + SCAN_RECORD[f].offset + 4, true));
  };
  const text = (f: Field, base = fileBase): string | null => {
    const b = bytes(f, base);
    return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  };
  const hexBytes = (f: Field): string | null => {
    const b = bytes(f);
    return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  };
  const hex = (v: bigint | number) => `0x${v.toString(16)}`;

  const status = u32('status');
  if (status === SR_STATUS_NOT_ELF) return { status: 'not-elf' };
  if (status === SR_STATUS_NEED_BYTES) {
    return { status: 'need-bytes', offset: Number(u64('needOffset')), length: Number(u64('needLength')) };
  }
  if (status !== SR_STATUS_ELF) {
    return { status: 'error', error: text('error', 0) ?? 'unknown error', errorOffset: Number(u64('errorOffset')) };
  }

  const present = u32('present');
  const has = (bit: number) => (present & bit) !== 0;
  const typeValue = u32('type');
  const machine = u32('machine');
  const osabi = u32('osabi');

  const needed: string[] = [];
  const count = u32('neededCount');
  const list = u32('neededPtr');
  for (let i = 0; i < count; i++) {
    const off = view.getUint32(list + i * 8, true);
    const len = view.getUint32(list + i * 8 + 4, true);
    needed.push(Buffer.from(memory.buffer, fileBase + off, len).toString('utf8'));
  }

  let reservation: ReservationFacts | null = null;
  if (has(PRESENT_RESERVATION)) {
    const segment = u32('resSegment');
    const sectionType = u32('resSectionType');
    const problems = [...RESERVATION_BITS].filter(([bit]) => (u32('resProblems') & bit) !== 0).map(([, n]) => n);
    reservation = {
      section: u32('resSection'),
      sectionType: sectionType === SHT.NOBITS ? 'NOBITS' : sectionType === SHT.PROGBITS ? 'PROGBITS' : `0x${sectionType.toString(16)}`,
      address: hex(u64('resAddr')),
      size: Number(u64('resSize')),
      sectionFlags: flagNames(SHF_TABLE, u64('resSectionFlags')),
      alignment: Number(u64('resAlign')),
      fileOffset: hex(u64('resFileOffset')),
      segment: segment === SR_NONE ? null : segment,
      segmentFlags: segment === SR_NONE ? null : flagNames(PF_TABLE, u32('resSegmentFlags')),
      segmentFileSize: segment === SR_NONE ? null : Number(u64('resSegFilesz')),
      problems,
      bound: sectionType === SHT.PROGBITS && segment !== SR_NONE && u64('resSegFilesz') === u64('resSegMemsz'),
    };
  }

  let syslayer: SyslayerFacts | null = null;
  if (reservation || has(PRESENT_SL_ABI) || has(PRESENT_SL_LAYER) || has(PRESENT_SL_BIND)) {
    syslayer = {
      abi: has(PRESENT_SL_ABI) ? u32('slAbi') : null,
      abiFlags: has(PRESENT_SL_ABI) ? u32('slAbiFlags') : null,
      reservation,
      bound: reservation?.bound ?? false,
      layer: has(PRESENT_SL_LAYER)
        ? {
            abiMin: u32('layerAbiMin'),
            abiMax: u32('layerAbiMax'),
            kernelMin: u32('layerKernelMin'),
            kernelMinText: kernelVersionText(u32('layerKernelMin')),
            revision: u32('layerRevision'),
            name: text('layerName') ?? '',
          }
        : null,
      bindRecord: has(PRESENT_SL_BIND) ? hexBytes('bindRecord') : null,
      refusal: text('refusal', 0),
    };
  }

  const facts: ElfFacts = {
    class: u32('class') === 64 ? 64 : 32,
    endian: u32('endian') === 1 ? 'little' : 'big',
    machine,
    machineName: nameOf(EM_TABLE, machine, 'EM_').replace(/^EM_/, ''),
    type: ELF_TYPES[typeValue] ?? `0x${typeValue.toString(16)}`,
    osabi,
    osabiName: nameOf(ELFOSABI_TABLE, osabi, 'ELFOSABI_').replace(/^ELFOSABI_/, ''),
    abiVersion: u32('abiVersion'),
    flags: u32('flags'),
    entry: hex(u64('entry')),
    phnum: u32('phnum'),
    shnum: u32('shnum'),
    interpreter: text('interpreter'),
    soname: text('soname'),
    needed,
    rpath: text('rpath'),
    runpath: text('runpath'),
    dtFlags: has(PRESENT_FLAGS) ? u32('dtFlags') : null,
    dtFlags1: has(PRESENT_FLAGS_1) ? u32('dtFlags1') : null,
    linkage: has(PRESENT_DYNAMIC) ? 'dynamic' : 'static',
    buildId: hexBytes('buildId'),
    abiTag: has(PRESENT_ABI_TAG)
      ? {
          os: ABI_TAG_OS[u32('abiTagOs')] ?? `OS ${u32('abiTagOs')}`,
          version: `${u32('abiTagMajor')}.${u32('abiTagMinor')}.${u32('abiTagPatch')}`,
        }
      : null,
    syslayer,
  };
  return { status: 'elf', facts };
}
