// Writes random layer objects as assembly source: a few sections of random kinds, sizes and
// alignments, labels (named globals and locals, which gas turns into section symbols) spread over
// them, and references between them drawn from every relocation type we accept, with addends.
// Targets stay in range by construction (the image stays well under TSTBR14's ±32 KiB), and
// AArch64 load/store targets are aligned to their access size, so every generated layer must link.
import type { ArchName } from './tools.js';

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const between = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

interface Label {
  name: string;
  section: number;
  /** Labels in read-only data sit at 16-byte boundaries: any load through them is aligned. */
  data: boolean;
}

function x86Reference(rand: Rand, t: Label, d: Label): string {
  const a = between(rand, -64, 64);
  return pick(rand, [
    () => `\tcall ${t.name}`,
    () => `\tjmp ${t.name}@PLT`,
    () => `\tleaq ${d.name}${a >= 0 ? '+' : ''}${a}(%rip), %rax`,
    () => `\tmovl ${d.name}+${Math.abs(a)}(%rip), %ecx`,
    () => `\tgotmov q, ${t.name}, %r${between(rand, 8, 15)}`,
    () => `\tgotmov l, ${d.name}, %edx`,
    () => `\tgotcall ${t.name}`,
    () => `\tgotjmp ${t.name}`,
    () => `\tgotplain ${d.name}`,
    () => `\t.long ${d.name} - . + ${a}`,
    () => `\t.quad ${t.name} - . + ${a}`,
  ])();
}

function aarch64Reference(rand: Rand, t: Label, d: Label, named: Label[]): string {
  const off = (scale: number) => between(rand, 0, 3) << scale;
  const reg = between(rand, 0, 15);
  return pick(rand, [
    () => `\tbl ${t.name}`,
    () => `\tb ${t.name}`,
    () => `\tb.ne ${t.name}`,
    () => `\tcbnz w${reg}, ${t.name}`,
    () => `\ttbz x${reg}, #${between(rand, 0, 63)}, ${t.name}`,
    () => `\tadr x${reg}, ${d.name}+${between(rand, 0, 99)}`,
    () => `\tadrp x${reg}, ${d.name}+${off(4)}\n\tadd x${reg}, x${reg}, :lo12:${d.name}+${off(4)}`,
    () => `\tadrp x${reg}, :pg_hi21_nc:${d.name}`,
    () => `\tldrb w${reg}, [x${reg}, :lo12:${d.name}+${off(0)}]`,
    () => `\tldrh w${reg}, [x${reg}, :lo12:${d.name}+${off(1)}]`,
    () => `\tldr w${reg}, [x${reg}, :lo12:${d.name}+${off(2)}]`,
    () => `\tldr x${reg}, [x${reg}, :lo12:${d.name}+${off(3)}]`,
    () => `\tldr q${reg}, [x${reg}, :lo12:${d.name}+${off(4)}]`,
    // gas writes a GOT load of a local label against the section symbol plus an addend, and lld 14
    // then reads the GOT slot at that addend (it refuses a misaligned one): named symbols only.
    () => (named.length > 0 ? `\tgotload x${reg}, ${pick(rand, named).name}` : `\tadr x${reg}, ${t.name}`),
  ])();
}

/** One random layer for `arch`; `slots` are the slot names its globals may implement. */
export function generateLayer(arch: ArchName, rand: Rand, slots: readonly string[]): string {
  const x86 = arch === 'x86_64';
  const sectionCount = between(rand, 2, 7);
  const kinds = Array.from({ length: sectionCount }, (_, i) => (i === 0 ? 'text' : i === 1 || rand() < 0.5 ? 'rodata' : 'text'));
  const labels: Label[] = [];
  const perSection: Label[][] = kinds.map(() => []);
  let global = 0;
  kinds.forEach((kind, s) => {
    for (let k = between(rand, 1, 5); k > 0; k--) {
      const slot = kind === 'text' && rand() < 0.4 ? slots.find((n) => !labels.some((l) => l.name === `sl_${n}`)) : undefined;
      const name = slot ? `sl_${slot}` : rand() < 0.5 ? `g${global++}` : `l${labels.length}`;
      const label = { name, section: s, data: kind === 'rodata' };
      labels.push(label);
      perSection[s].push(label);
    }
  });
  const texts = labels.filter((l) => !l.data);
  const datas = labels.filter((l) => l.data);
  const named = labels.filter((l) => !l.name.startsWith('l'));
  const lines = [`\t.include "got-${arch}.s"`];
  let pageAligned = false; // one 4096-aligned section at most keeps the image in TSTBR14's range
  kinds.forEach((kind, s) => {
    const exec = kind === 'text';
    const page = !pageAligned && rand() < 0.15;
    pageAligned ||= page;
    const align = page ? 4096 : pick(rand, exec ? [4, 8, 16, 32, 64] : [16, 32, 64]);
    const flags = exec ? 'ax' : 'a';
    lines.push(`\t.section .${kind}.g${s},"${flags}",${x86 ? '@' : '%'}progbits`, `\t.p2align ${Math.log2(align)}`);
    for (const label of perSection[s]) {
      if (label.data) lines.push('\t.p2align 4');
      if (!label.name.startsWith('l')) lines.push(`\t.globl ${label.name}`);
      lines.push(`${label.name}:`);
      for (let k = between(rand, 0, 10); k > 0; k--) {
        const t = pick(rand, texts);
        const d = pick(rand, datas);
        if (exec) lines.push(x86 ? x86Reference(rand, t, d) : aarch64Reference(rand, t, d, named));
        else lines.push(x86 ? `\t.long ${t.name} - . + ${between(rand, -9, 9)}` : pick(rand, [`\t.word ${t.name} - . + ${between(rand, -9, 9)}`, `\t.quad ${d.name} - . - ${between(rand, 0, 99)}`]));
        if (!exec && rand() < 0.5) lines.push(`\t.byte ${Array.from({ length: between(rand, 1, 7) }, () => between(rand, 0, 255)).join(', ')}`);
      }
      lines.push(exec ? '\tret' : `\t.quad ${between(rand, 0, 2 ** 30)}`);
    }
  });
  lines.push(`\t.section .note.GNU-stack,"",${x86 ? '@' : '%'}progbits`, '');
  return lines.join('\n');
}
