// Links a layer object the way docs/abi.md says our linker does, but with GNU ld or lld: the slot
// table (assembled from source here, one 16-byte slot per name) at the base address, then each
// linked section of the layer, by name, in section-index order, each as its own output section so
// that the linker places it at its own sh_addralign. Everything the linker makes besides (GOT,
// dynamic sections) goes a megabyte further on, outside the compared bytes.
//
// Why -pie: the image must run at any page-aligned base, which is what -pie asks of a linker. A
// non-PIE GNU ld turns `mov foo@GOTPCREL(%rip)` into `mov $foo` with an absolute address.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS, run, runAsync, type ArchName, type LinkerName } from './tools.js';
import { definedGlobals, linkedSections, parseSections, readSections, type Section } from './readelf.js';

export interface OracleImage {
  bytes: Uint8Array;
  /** Image offset of each linked section of the layer, by name. */
  placement: Map<string, number>;
  output: string;
}

function slotSource(arch: ArchName, slotNames: readonly string[], defined: Set<string>): string {
  const lines = [arch === 'x86_64' ? '\t.section .sl_slots,"ax",@progbits' : '\t.section .sl_slots,"ax",%progbits'];
  for (const name of slotNames) {
    const sym = `sl_${name}`;
    if (arch === 'x86_64') {
      // An undefined symbol always gets `jmp rel32` (e9), never the short form.
      lines.push(defined.has(sym) ? `\tjmp ${sym}\n\t.fill 11, 1, 0xcc` : '\tmov $-38, %rax\n\tret\n\t.fill 8, 1, 0xcc');
    } else {
      lines.push(defined.has(sym) ? `\tb ${sym}\n\tbrk #0\n\tbrk #0\n\tbrk #0` : '\tmov x0, #-38\n\tret\n\tbrk #0\n\tbrk #0');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Assembles the slot table for `slotNames` once per layer object; returns the object's path. */
export function assembleSlots(arch: ArchName, dir: string, tag: string, layer: string, slotNames: readonly string[]): string {
  const src = join(dir, `${tag}-slots.s`);
  writeFileSync(src, slotSource(arch, slotNames, definedGlobals(layer)));
  const obj = join(dir, `${tag}-slots.o`);
  run(TOOLS[arch].as, ['-o', obj, src]);
  return obj;
}

const layerSections = new Map<string, Section[]>();
/** The layer's sections, read once per object (it is linked up to eight times). */
function sectionsOf(layer: string): Section[] {
  if (!layerSections.has(layer)) layerSections.set(layer, readSections(layer));
  return layerSections.get(layer)!;
}

function script(base: bigint, slots: string, layer: string, names: string[]): string {
  const quote = (p: string) => `"${p}"`;
  return [
    'SECTIONS {',
    `  . = 0x${base.toString(16)};`,
    `  .sl_slots : { KEEP(${quote(slots)}(.sl_slots)) }`,
    ...names.map((n, i) => `  .sl_image_${i} : { KEEP(${quote(layer)}(${n})) }`),
    '  . = ALIGN(0x100000) + 0x100000;',
    '  .dynsym : { *(.dynsym) }',
    '  .dynstr : { *(.dynstr) }',
    '  .hash : { *(.hash) }',
    '  .gnu.hash : { *(.gnu.hash) }',
    '  .rela.dyn : { *(.rela.*) }',
    '  .got : { *(.got) *(.got.plt) *(.igot.plt) }',
    '  .dynamic : { *(.dynamic) }',
    '  .text : { *(.text*) }',
    '  .data : { *(.data*) }',
    '  .bss : { *(.bss*) }',
    '  /DISCARD/ : { *(.note.syslayer) *(.note.GNU-stack) *(.note.gnu.property) *(.comment) *(.interp) }',
    '}',
    '',
  ].join('\n');
}

export async function oracleLink(
  arch: ArchName, linker: LinkerName, layer: string, slots: string, base: bigint, dir: string, tag: string,
): Promise<OracleImage> {
  const sections = linkedSections(sectionsOf(layer));
  const names = sections.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`${layer}: two linked sections are named ${dup}; a linker script cannot tell them apart`);
  const lds = join(dir, `${tag}.ld`);
  writeFileSync(lds, script(base, slots, layer, names));
  const out = join(dir, `${tag}.elf`);
  const common = ['-pie', '--no-dynamic-linker', '-e', '0', '--build-id=none', '-T', lds, '-o', out, slots, layer];
  if (linker === 'GNU ld') await runAsync(TOOLS[arch].ld, common);
  else await runAsync('ld.lld', ['-m', TOOLS[arch].lldEmulation, ...TOOLS[arch].lldExtra, ...common]);

  const placed = parseSections(await runAsync('readelf', ['-SW', out]));
  const slotTable = placed.find((s) => s.name === '.sl_slots');
  if (!slotTable || slotTable.address !== base) throw new Error(`${linker}: .sl_slots is not at 0x${base.toString(16)} in ${out}`);
  const placement = new Map<string, number>();
  let end = slotTable.size;
  names.forEach((n, i) => {
    const s = placed.find((p) => p.name === `.sl_image_${i}`)!;
    placement.set(n, Number(s.address - base));
    end = Math.max(end, Number(s.address - base) + s.size);
  });
  // Nothing else the linker made may land among the compared bytes.
  for (const s of placed) {
    if (!s.flags.includes('A') || s.size === 0 || s.name === '.sl_slots' || s.name.startsWith('.sl_image_')) continue;
    if (s.address < base + BigInt(end)) throw new Error(`${linker}: ${s.name} at 0x${s.address.toString(16)} lies inside the image in ${out}`);
  }
  // The image is the sections' file bytes at their addresses (readelf -S says where), gaps zero.
  const file = readFileSync(out);
  const bytes = new Uint8Array(end);
  for (const s of placed) {
    if (s.name !== '.sl_slots' && !s.name.startsWith('.sl_image_')) continue;
    bytes.set(file.subarray(s.offset, s.offset + s.size), Number(s.address - base));
  }
  return { bytes, placement, output: out };
}
