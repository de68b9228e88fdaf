// Counting and reading an image tree, outside syslayer: the denominators of the benchmarks'
// rates (files, bytes, ELF files) and the raw-read baseline.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Count a tree: regular files (symlinks not followed), bytes, ELF files, and the ELF files
 * patchelf can read (ET_EXEC/ET_DYN with a PT_DYNAMIC program header). `elf` and `dynamic` list
 * them, relative to root, in name order.
 */
export function countTree(root) {
  const c = { files: 0, bytes: 0, elfFiles: 0, elfBytes: 0, dirs: 0, symlinks: 0, other: 0 };
  const elf = [];
  const dynamic = [];
  const head = Buffer.alloc(64);
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop();
    c.dirs++;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = dir + '/' + e.name;
      if (e.isDirectory()) stack.push(p);
      else if (e.isSymbolicLink()) c.symlinks++;
      else if (e.isFile()) {
        const size = fs.lstatSync(p).size;
        c.files++;
        c.bytes += size;
        const fd = fs.openSync(p, 'r');
        try {
          const n = fs.readSync(fd, head, 0, 64, 0);
          if (n < 52 || head.readUInt32BE(0) !== 0x7f454c46) continue;
          c.elfFiles++;
          c.elfBytes += size;
          const rel = path.relative(root, p);
          elf.push(rel);
          const is64 = head[4] === 2;
          const le = head[5] === 1;
          const u16 = (o) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
          const type = u16(16);
          if (type !== 2 && type !== 3) continue;
          const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : le ? head.readUInt32LE(28) : head.readUInt32BE(28);
          const phentsize = u16(is64 ? 54 : 42);
          const phnum = u16(is64 ? 56 : 44);
          if (!phoff || !phnum || phoff + phentsize * phnum > size) continue;
          const ph = Buffer.alloc(phentsize * phnum);
          fs.readSync(fd, ph, 0, ph.length, phoff);
          for (let i = 0; i < phnum; i++) {
            const t = le ? ph.readUInt32LE(i * phentsize) : ph.readUInt32BE(i * phentsize);
            if (t === 2) {
              dynamic.push(rel);
              break;
            }
          }
        } finally {
          fs.closeSync(fd);
        }
      } else c.other++;
    }
  }
  return { ...c, dynamicElfFiles: dynamic.length, elf, dynamic };
}

/**
 * Read every byte of every regular file under each root once (symlinks not followed) into one
 * 4 MiB buffer; a root that is a file is read itself. Returns { files, bytes }.
 */
export function readTree(roots) {
  const buf = Buffer.allocUnsafe(1 << 22);
  let files = 0;
  let bytes = 0;
  const readAll = (p) => {
    const fd = fs.openSync(p, 'r');
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        bytes += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    files++;
  };
  for (const root of roots) {
    if (fs.lstatSync(root).isFile()) {
      readAll(root);
      continue;
    }
    const stack = [root];
    while (stack.length) {
      const dir = stack.pop();
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = dir + '/' + e.name;
        if (e.isDirectory()) stack.push(p);
        else if (e.isFile()) readAll(p);
      }
    }
  }
  return { files, bytes };
}
