// The facts the core reports about one ELF file, as typed objects. These are what workers send
// back and what the JSON report prints (docs/scan-json.md documents every field).

export type ElfTypeName = 'EXEC' | 'DYN' | 'REL' | 'CORE' | `0x${string}`;

export interface ReservationFacts {
  /** Index of the `.syslayer` section. */
  section: number;
  sectionType: 'NOBITS' | 'PROGBITS' | `0x${string}`;
  /** Virtual address and size of the reservation (hex strings: 64-bit values). */
  address: string;
  size: number;
  sectionFlags: string;
  alignment: number;
  fileOffset: string;
  /** Index of the PT_LOAD that covers the section, or null when none does. */
  segment: number | null;
  segmentFlags: string | null;
  segmentFileSize: number | null;
  /** What would make the binder refuse it (empty when the reservation is sound). */
  problems: string[];
  /** True when a layer has been written into it (SHT_PROGBITS with file bytes). */
  bound: boolean;
}

export interface LayerNoteFacts {
  abiMin: number;
  abiMax: number;
  kernelMin: number;
  kernelMinText: string;
  revision: number;
  name: string;
}

export interface SyslayerFacts {
  /** Userland ABI version from NT_SYSLAYER_ABI, or null when the note is absent. */
  abi: number | null;
  abiFlags: number | null;
  reservation: ReservationFacts | null;
  bound: boolean;
  /** NT_SYSLAYER_LAYER of a layer object. */
  layer: LayerNoteFacts | null;
  /** NT_SYSLAYER_BIND descriptor, hex-encoded, or null. */
  bindRecord: string | null;
  /** For an unbound client: why `bind` would refuse it (the binder's own checks), or null. */
  refusal: string | null;
}

export interface ElfFacts {
  class: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  machineName: string;
  type: ElfTypeName;
  osabi: number;
  osabiName: string;
  abiVersion: number;
  flags: number;
  entry: string;
  phnum: number;
  shnum: number;
  interpreter: string | null;
  soname: string | null;
  needed: string[];
  rpath: string | null;
  runpath: string | null;
  dtFlags: number | null;
  dtFlags1: number | null;
  /** 'dynamic' when the file has a PT_DYNAMIC segment, 'static' otherwise. */
  linkage: 'static' | 'dynamic';
  buildId: string | null;
  /** NT_GNU_ABI_TAG: the OS and the minimum kernel version, e.g. { os: 'Linux', version: '3.2.0' }. */
  abiTag: { os: string; version: string } | null;
  syslayer: SyslayerFacts | null;
}

/** One file's outcome in a scan: facts, or the reason it could not be read. */
export type ScanOutcome =
  | { path: string; kind: 'elf'; size: number; facts: ElfFacts }
  | { path: string; kind: 'other'; size: number }
  | { path: string; kind: 'error'; size: number; error: string; errorOffset?: number };
