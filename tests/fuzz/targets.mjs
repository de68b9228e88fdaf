// The fields of one input file the fuzzer aims at, named and located from readelf's layout
// (elf-layout.mjs). A target is plain data ({ name, at, width, hints }) so the list is made once
// in the main thread and handed to the workers. `hints` are values that mean something for this
// field in this file (the reservation's address for a relocation's target, the file's size for an
// offset) and are tried beside the generic boundary values.
import { readFileSync } from 'node:fs';
import { elfLayout, layerTables } from './elf-layout.mjs';

// gABI ELF64 structure fields: [name, offset, width].
const SHDR = [['sh_name', 0, 4], ['sh_type', 4, 4], ['sh_flags', 8, 8], ['sh_addr', 16, 8], ['sh_offset', 24, 8], ['sh_size', 32, 8], ['sh_link', 40, 4], ['sh_info', 44, 4], ['sh_addralign', 48, 8], ['sh_entsize', 56, 8]];
const PHDR = [['p_type', 0, 4], ['p_flags', 4, 4], ['p_offset', 8, 8], ['p_vaddr', 16, 8], ['p_paddr', 24, 8], ['p_filesz', 32, 8], ['p_memsz', 40, 8], ['p_align', 48, 8]];
const SYM = [['st_name', 0, 4], ['st_info', 4, 1], ['st_other', 5, 1], ['st_shndx', 6, 2], ['st_value', 8, 8], ['st_size', 16, 8]];
// r_info splits into the type (low half) and the symbol index (high half) on ELF64.
const RELA = [['r_offset', 0, 8], ['r_type', 8, 4], ['r_sym', 12, 4], ['r_addend', 16, 8]];
const EHDR = [['e_type', 16, 2], ['e_machine', 18, 2], ['e_phoff', 32, 8], ['e_shoff', 40, 8], ['e_phentsize', 54, 2], ['e_phnum', 56, 2], ['e_shentsize', 58, 2], ['e_shnum', 60, 2], ['e_shstrndx', 62, 2]];
// Note header, then the owner name padded to 12 bytes: the descriptor starts at +24.
const NOTE_HEAD = [['namesz', 0, 4], ['descsz', 4, 4], ['n_type', 8, 4], ['owner byte 0', 12, 1], ['owner NUL', 20, 1]];
const LAYER_DESC = [['abi_min', 0, 4], ['abi_max', 4, 4], ['kernel_min', 8, 4], ['revision', 12, 4], ['name byte 0', 16, 1]];
const ABI_DESC = [['abi', 0, 4], ['flags', 4, 4]];
// docs/abi.md, "The bind record": every field.
const BIND_DESC = [['version', 0, 4], ['target kernel', 4, 4], ['abi_min', 8, 4], ['abi_max', 12, 4], ['kernel_min', 16, 4], ['revision', 20, 4],
  ['client abi', 24, 4], ['PT_LOAD index', 28, 4], ['original size', 32, 8], ['original e_shoff', 40, 8], ['original e_shnum', 48, 4],
  ['reserved', 52, 4], ['original p_offset', 56, 8], ['original p_filesz', 64, 8], ['original sha byte 0', 72, 1], ['original sha byte 31', 103, 1],
  ['reservation sha byte 0', 104, 1], ['reservation sha byte 31', 135, 1], ['image length', 136, 8], ['name byte 0', 144, 1]];

/**
 * Everything the fuzzer needs about one input: its bytes, role ('layer' or 'client'), whether it
 * is bound, and its targets. `label` names it in fixtures and reports.
 */
export function describeInput(path, label, role, arch, bound = false) {
  const bytes = readFileSync(path);
  const l = elfLayout(path);
  const size = bytes.length;
  const targets = [];
  const add = (prefix, base, fields, hints = []) => {
    for (const [name, off, width] of fields) if (base + off + width <= size) targets.push({ name: `${prefix} ${name}`, at: base + off, width, hints });
  };
  add('ELF header', 0, EHDR, [size, l.shoff]);
  const named = (n) => l.sections.find((s) => s.name === n);
  const res = named('.syslayer');
  const resVaddr = res ? res.addr : 0;
  const resSize = res ? res.size : 0;

  if (role === 'layer') {
    for (const s of l.sections) add(`section ${s.index} (${s.name})`, s.header, SHDR, [size, s.offset, s.size, 0x10000]);
    const symtab = named('.symtab');
    if (symtab) {
      for (const sym of layerTables(path).symbols) add(`symbol ${sym.index} (${sym.name || 'null'})`, symtab.offset + 24 * sym.index, SYM, [l.sections.length, 0xfff1, 0xfff2]);
    }
    for (const r of l.relocations) {
      for (let i = 0; i < r.count; i++) add(`${r.section} entry ${i}`, r.offset + 24 * i, RELA, [0x100000, 0x7fffffff, 0xfffffffc]);
    }
    const note = named('.note.syslayer');
    if (note) {
      add('layer note', note.offset, NOTE_HEAD, [note.size, note.size - 12]);
      add('layer note', note.offset + 24, LAYER_DESC, [0x040b00, 0x030200, 3]);
      // The name's terminating NUL: without it the name runs on into the padding and past.
      targets.push({ name: 'layer note name NUL', at: note.offset + note.size - 1, width: 1, hints: [0x41] });
    }
    const strtab = named('.strtab');
    if (strtab && strtab.size > 0) {
      targets.push({ name: '.strtab last byte', at: strtab.offset + strtab.size - 1, width: 1, hints: [0x41] });
      targets.push({ name: '.strtab bytes', at: strtab.offset, width: 0, span: strtab.size, hints: [] });
    }
  } else {
    for (const s of l.sections) {
      if (s === res || ['.dynamic', '.shstrtab', '.note.syslayer', '.syslayer.bind', '.rela.dyn', '.rela.plt', '.dynstr'].includes(s.name)) {
        add(`section ${s.index} (${s.name})`, s.header, SHDR, [size, resVaddr, resSize, 0x1000, 0x10000, 8]);
      } else {
        // Other sections: their type, place and size are what the core reads of them.
        add(`section ${s.index} (${s.name})`, s.header, SHDR.filter(([n]) => n === 'sh_type' || n === 'sh_offset' || n === 'sh_size'), [size, resVaddr]);
      }
    }
    for (const p of l.segments) {
      const isRes = p.sections.includes('.syslayer') && p.type === 'LOAD';
      add(isRes ? `reservation PT_LOAD ${p.index}` : `segment ${p.index} (${p.type})`, p.header, PHDR, [size, resVaddr, resSize, 0x1000, 0x10000, 6, 7, 5, 1]);
    }
    const abiNote = named('.note.syslayer');
    if (abiNote) {
      add('ABI note', abiNote.offset, NOTE_HEAD, [abiNote.size, 2, 3]);
      add('ABI note', abiNote.offset + 24, ABI_DESC, [1, 2, 3, 0x7fffffff]);
    }
    const bindNote = named('.syslayer.bind');
    if (bindNote) {
      add('bind note', bindNote.offset, NOTE_HEAD, [bindNote.size, bindNote.size - 24, 144]);
      add('bind note', bindNote.offset + 24, BIND_DESC, [size, l.shoff, resSize, resVaddr, 0x040b00, 0x030200, 1, 2]);
      targets.push({ name: 'bind note name NUL', at: bindNote.offset + bindNote.size - 1, width: 1, hints: [0x41] });
    }
    if (res) {
      // Coupled changes that keep the section and its segment in agreement, so the binder's
      // consistency checks pass and what lies behind them (sizes, alignment padding) is reached.
      const seg = l.segments.find((p) => p.type === 'LOAD' && p.sections.includes('.syslayer'));
      if (seg) {
        targets.push({ name: 'reservation size (sh_size, p_memsz)', at: res.header + 32, width: 8, also: [seg.header + 40], hints: [0x1000, 0x2000, 0x10000, 0x1000000, 0x1001000, 0x40000000, 0x100000000] });
        targets.push({ name: 'reservation address (sh_addr, p_vaddr, p_paddr)', at: res.header + 16, width: 8, also: [seg.header + 16, seg.header + 24], hints: [resVaddr + 0x1000, resVaddr + 0x200000, 0x7ffff000, 0x100000000, 0xfffffffffffff000] });
        targets.push({ name: 'reservation alignment (sh_addralign, p_align)', at: res.header + 48, width: 8, also: [seg.header + 48], hints: [0x1000, 0x10000, 0x200000, 0x400000, 0x40000000, 0x8000000000000000] });
      }
    }
    if (res && res.type === 'PROGBITS') targets.push({ name: 'reservation bytes', at: res.offset, width: 0, span: res.size, hints: [] });
    for (const d of l.dynamic) {
      // DT_RELA, DT_JMPREL and friends aimed into the reservation: the binder must refuse a
      // client whose dynamic relocations would write there.
      add(`dynamic ${d.tag}`, d.at, [['d_tag', 0, 8], ['d_val', 8, 8]], [resVaddr, resVaddr + 8, resSize, 0xffffffff, 7, 8, 0x17, 0x24, 0x6ffffef5]);
    }
    for (const r of l.relocations) {
      for (let i = 0; i < r.count; i++) add(`${r.section} entry ${i}`, r.offset + 24 * i, RELA, [resVaddr, resVaddr + resSize - 8, resVaddr + resSize - 4]);
    }
  }
  return { label, role, arch, bound, bytes: new Uint8Array(bytes), targets, boundaries: [...new Set([0, 16, 64, l.shoff, l.phoff + l.phentsize, ...l.sections.map((s) => s.offset), ...l.segments.map((p) => p.offset)])].filter((c) => c < size) };
}
