// Field offsets of the ELF structures for each class, so generic code reads a field by name and
// never branches on the class itself. Values from the System V gABI, figures 4-3, 5-1 and 4-8.

export class ElfLayout {
  ehsize: u32;
  addrSize: u32;
  // Elf_Ehdr
  e_entry: u32; e_phoff: u32; e_shoff: u32; e_flags: u32;
  e_phentsize: u32; e_phnum: u32; e_shentsize: u32; e_shnum: u32; e_shstrndx: u32;
  // Elf_Phdr
  phentsize: u32;
  p_type: u32; p_flags: u32; p_offset: u32; p_vaddr: u32; p_filesz: u32; p_memsz: u32; p_align: u32;
  // Elf_Shdr
  shentsize: u32;
  sh_name: u32; sh_type: u32; sh_flags: u32; sh_addr: u32; sh_offset: u32; sh_size: u32;
  sh_link: u32; sh_info: u32; sh_addralign: u32;
  // Elf_Dyn
  dynsize: u32;
}

function layout32(): ElfLayout {
  const l = new ElfLayout();
  l.ehsize = 52; l.addrSize = 4;
  l.e_entry = 24; l.e_phoff = 28; l.e_shoff = 32; l.e_flags = 36;
  l.e_phentsize = 42; l.e_phnum = 44; l.e_shentsize = 46; l.e_shnum = 48; l.e_shstrndx = 50;
  l.phentsize = 32;
  l.p_type = 0; l.p_offset = 4; l.p_vaddr = 8; l.p_filesz = 16; l.p_memsz = 20; l.p_flags = 24; l.p_align = 28;
  l.shentsize = 40;
  l.sh_name = 0; l.sh_type = 4; l.sh_flags = 8; l.sh_addr = 12; l.sh_offset = 16; l.sh_size = 20;
  l.sh_link = 24; l.sh_info = 28; l.sh_addralign = 32;
  l.dynsize = 8;
  return l;
}

function layout64(): ElfLayout {
  const l = new ElfLayout();
  l.ehsize = 64; l.addrSize = 8;
  l.e_entry = 24; l.e_phoff = 32; l.e_shoff = 40; l.e_flags = 48;
  l.e_phentsize = 54; l.e_phnum = 56; l.e_shentsize = 58; l.e_shnum = 60; l.e_shstrndx = 62;
  l.phentsize = 56;
  l.p_type = 0; l.p_flags = 4; l.p_offset = 8; l.p_vaddr = 16; l.p_filesz = 32; l.p_memsz = 40; l.p_align = 48;
  l.shentsize = 64;
  l.sh_name = 0; l.sh_type = 4; l.sh_flags = 8; l.sh_addr = 16; l.sh_offset = 24; l.sh_size = 32;
  l.sh_link = 40; l.sh_info = 44; l.sh_addralign = 48;
  l.dynsize = 16;
  return l;
}

export const LAYOUT32 = layout32();
export const LAYOUT64 = layout64();
