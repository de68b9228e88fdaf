// The selection rule's edges, from DESIGN §3's text: candidates share the object's machine,
// class and byte order and have abi_min <= abi <= abi_max and kernel_min <= V; the highest
// kernel_min wins, then the highest revision; two equal candidates are an ambiguity; no candidate
// is an error listing what the catalog has for that machine. The expected answers below are read
// off that text, not off a run of the code.
import { describe, expect, it } from 'vitest';
import { consider, selectExplained, selectLayer, type ObjectToBind } from '../src/catalog/select.js';
import type { Layer } from '../src/catalog/layer.js';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const KV = (a: number, b: number, c = 0) => (a << 16) | (b << 8) | c;

let serial = 0;

/** A catalog entry linked for every ABI it serves (the rule only reads the note's fields). */
function layer(fields: Partial<Layer> & Pick<Layer, 'kernelMin'>): Layer {
  const l: Layer = {
    path: `/layers/${++serial}.o`,
    name: `layer-${serial}`,
    machine: EM_X86_64,
    machineName: 'X86_64',
    class: 64,
    endian: 'little',
    abiMin: 1,
    abiMax: 2,
    revision: 1,
    images: new Map(),
    linkErrors: new Map(),
    ...fields,
  };
  for (let abi = l.abiMin; abi <= l.abiMax; abi++) l.images.set(abi, { image: new Uint8Array(16), slotCount: 1, implemented: [true] });
  return l;
}

const object = (abi: number, o: Partial<ObjectToBind> = {}): ObjectToBind =>
  ({ machine: EM_X86_64, machineName: 'X86_64', class: 64, endian: 'little', abi, ...o });

/** The path of the layer the rule selects, or the reason it gives. */
function pick(catalog: Layer[], o: ObjectToBind, kernel: number): string {
  const s = selectLayer(catalog, o, kernel);
  return s.ok ? s.layer.path : `error: ${s.reason}`;
}

describe('ABI range: abi_min <= abi <= abi_max, both ends inclusive', () => {
  const l = layer({ abiMin: 2, abiMax: 4, kernelMin: KV(3, 2) });
  it.each([
    [1, false, 'one below abi_min'],
    [2, true, 'abi = abi_min'],
    [3, true, 'inside'],
    [4, true, 'abi = abi_max'],
    [5, false, 'one above abi_max'],
  ])('ABI %i: eligible %s (%s)', (abi, eligible) => {
    const picked = pick([l], object(abi), KV(5, 0));
    if (eligible) expect(picked).toBe(l.path);
    else expect(picked).toMatch(new RegExp(`^error: no layer serves ABI ${abi} on X86_64 for kernel 5\\.0\\.0; the catalog has for X86_64: layer-`));
  });

  it('a single-version range (abi_min = abi_max) serves exactly that version', () => {
    const one = layer({ abiMin: 2, abiMax: 2, kernelMin: KV(3, 2) });
    expect(pick([one], object(2), KV(5, 0))).toBe(one.path);
    expect(pick([one], object(1), KV(5, 0))).toMatch(/^error: no layer serves ABI 1/);
    expect(pick([one], object(3), KV(5, 0))).toMatch(/^error: no layer serves ABI 3/);
  });
});

describe('kernel_min <= V', () => {
  it('kernel_min equal to the target kernel is eligible', () => {
    const l = layer({ kernelMin: KV(4, 11) });
    expect(pick([l], object(1), KV(4, 11))).toBe(l.path);
  });

  it('kernel_min one above the target is not (4.11.1 against 4.11.0, 4.11.0 against 4.10.255)', () => {
    expect(pick([layer({ kernelMin: KV(4, 11, 1) })], object(1), KV(4, 11))).toMatch(/^error: no layer serves ABI 1 on X86_64 for kernel 4\.11\.0/);
    expect(pick([layer({ kernelMin: KV(4, 11) })], object(1), KV(4, 10, 255))).toMatch(/^error: no layer serves ABI 1 on X86_64 for kernel 4\.10\.255/);
  });
});

describe('the highest eligible kernel_min wins, then the highest revision', () => {
  it('the highest kernel_min not above V, wherever it sits in the catalog', () => {
    const k32 = layer({ kernelMin: KV(3, 2) });
    const k411 = layer({ kernelMin: KV(4, 11) });
    const k60 = layer({ kernelMin: KV(6, 0) });
    for (const catalog of [[k32, k411, k60], [k60, k411, k32], [k411, k60, k32]]) {
      expect(pick(catalog, object(1), KV(5, 10))).toBe(k411.path);
    }
    expect(pick([k32, k411, k60], object(1), KV(4, 10))).toBe(k32.path);
    expect(pick([k32, k411, k60], object(1), KV(6, 0))).toBe(k60.path);
  });

  it('kernel_min decides before revision: a newer kernel_min with a lower revision wins', () => {
    const oldHigh = layer({ kernelMin: KV(3, 2), revision: 9 });
    const newLow = layer({ kernelMin: KV(4, 11), revision: 1 });
    expect(pick([oldHigh, newLow], object(1), KV(5, 0))).toBe(newLow.path);
  });

  it('equal kernel_min: the highest revision wins, in either order', () => {
    const r1 = layer({ kernelMin: KV(4, 11), revision: 1 });
    const r3 = layer({ kernelMin: KV(4, 11), revision: 3 });
    const r2 = layer({ kernelMin: KV(4, 11), revision: 2 });
    expect(pick([r1, r3, r2], object(1), KV(5, 0))).toBe(r3.path);
    expect(pick([r3, r2, r1], object(1), KV(5, 0))).toBe(r3.path);
  });

  it('layers that do not serve the ABI are not candidates, however new', () => {
    const served = layer({ kernelMin: KV(3, 2), abiMin: 1, abiMax: 1 });
    const other = layer({ kernelMin: KV(4, 11), abiMin: 2, abiMax: 2 });
    expect(pick([served, other], object(1), KV(5, 0))).toBe(served.path);
  });

  it('only the same machine, class and byte order are candidates', () => {
    const arm = layer({ kernelMin: KV(4, 11), machine: EM_AARCH64, machineName: 'AARCH64' });
    const x32 = layer({ kernelMin: KV(4, 11), class: 32 });
    const big = layer({ kernelMin: KV(4, 11), endian: 'big' });
    const x86 = layer({ kernelMin: KV(3, 2) });
    expect(pick([arm, x32, big, x86], object(1), KV(5, 0))).toBe(x86.path);
    expect(pick([arm, x32, big, x86], object(1, { machine: EM_AARCH64, machineName: 'AARCH64' }), KV(5, 0))).toBe(arm.path);
  });
});

describe('ambiguity: two equal candidates', () => {
  it('equal kernel_min and equal revision is an error that names both', () => {
    const a = layer({ name: 'linux-4.11', kernelMin: KV(4, 11), revision: 2 });
    const b = layer({ name: 'linux-4.11', kernelMin: KV(4, 11), revision: 2 });
    const reason = pick([a, b], object(1), KV(5, 0));
    expect(reason).toMatch(/^error: ambiguous: /);
    expect(reason).toContain(`linux-4.11 revision 2 (ABI 1..2, kernel >= 4.11.0, ${a.path})`);
    expect(reason).toContain(`linux-4.11 revision 2 (ABI 1..2, kernel >= 4.11.0, ${b.path})`);
  });

  it('a tie among losers is no ambiguity: the better layer wins', () => {
    const a = layer({ kernelMin: KV(3, 2), revision: 1 });
    const b = layer({ kernelMin: KV(3, 2), revision: 1 });
    const best = layer({ kernelMin: KV(3, 2), revision: 2 });
    const c = layer({ kernelMin: KV(3, 2), revision: 1 });
    expect(pick([a, b, best, c], object(1), KV(5, 0))).toBe(best.path);
  });

  it('a tie above the target kernel is no ambiguity: those are not candidates', () => {
    const a = layer({ kernelMin: KV(6, 0) });
    const b = layer({ kernelMin: KV(6, 0) });
    const ok = layer({ kernelMin: KV(4, 11) });
    expect(pick([a, b, ok], object(1), KV(5, 0))).toBe(ok.path);
  });
});

describe('no candidate', () => {
  it('lists what the catalog has for that machine, and only for that machine', () => {
    const newer = layer({ name: 'linux-6.0', kernelMin: KV(6, 0), revision: 4 });
    const otherAbi = layer({ name: 'abi3-only', kernelMin: KV(3, 2), abiMin: 3, abiMax: 3 });
    const arm = layer({ name: 'arm-layer', kernelMin: KV(3, 2), machine: EM_AARCH64, machineName: 'AARCH64' });
    const reason = pick([newer, otherAbi, arm], object(1), KV(5, 10));
    expect(reason).toMatch(/^error: no layer serves ABI 1 on X86_64 for kernel 5\.10\.0; the catalog has for X86_64: /);
    expect(reason).toContain(`linux-6.0 revision 4 (ABI 1..2, kernel >= 6.0.0, ${newer.path})`);
    expect(reason).toContain(`abi3-only revision 1 (ABI 3..3, kernel >= 3.2.0, ${otherAbi.path})`);
    expect(reason).not.toContain('arm-layer');
  });

  it('says none when the catalog has nothing for the machine', () => {
    const arm = layer({ kernelMin: KV(3, 2), machine: EM_AARCH64, machineName: 'AARCH64' });
    expect(pick([arm], object(1), KV(5, 0))).toBe('error: no layer serves ABI 1 on X86_64 for kernel 5.0.0; the catalog has for X86_64: none');
    expect(pick([], object(1), KV(5, 0))).toMatch(/the catalog has for X86_64: none$/);
  });
});

describe('the selected layer must link', () => {
  it('the winner failing to link is an error, not a fall-back to the next candidate', () => {
    const older = layer({ kernelMin: KV(3, 2) });
    const broken = layer({ name: 'broken', kernelMin: KV(4, 11) });
    broken.images.delete(1);
    broken.linkErrors.set(1, 'symbol helper is undefined: a layer must be self-contained (at file offset 0x1f8)');
    expect(pick([older, broken], object(1), KV(5, 0))).toBe(
      `error: layer broken revision 1 (ABI 1..2, kernel >= 4.11.0, ${broken.path}) does not link for ABI 1: symbol helper is undefined: a layer must be self-contained (at file offset 0x1f8)`);
  });
});

describe('selectExplained: what the JSON report says of a client is the rule\'s own answer', () => {
  // One layer left out by each filter, in the rule's order, and three candidates out of order.
  const other = layer({ machine: EM_AARCH64, machineName: 'AARCH64', kernelMin: KV(3, 2) });
  const low = layer({ kernelMin: KV(3, 2), revision: 5 });
  const class32 = layer({ class: 32, kernelMin: KV(3, 2) });
  const big = layer({ endian: 'big', kernelMin: KV(3, 2) });
  const high1 = layer({ kernelMin: KV(4, 11), revision: 1 });
  const abiOut = layer({ abiMin: 3, abiMax: 4, kernelMin: KV(3, 2) });
  const tooNew = layer({ kernelMin: KV(6, 2) });
  const high2 = layer({ kernelMin: KV(4, 11), revision: 2 });
  const catalog = [other, low, class32, big, high1, abiOut, tooNew, high2];
  const at = (l: Layer) => catalog.indexOf(l);

  it('lists the candidates best first and each other layer with the first filter it fails', () => {
    const { selected, detail } = selectExplained(catalog, object(2), KV(6, 1));
    expect(detail.candidates).toEqual([at(high2), at(high1), at(low)]);
    expect(detail.excluded).toEqual([
      { layer: at(other), reason: 'machine' },
      { layer: at(class32), reason: 'class' },
      { layer: at(big), reason: 'byteOrder' },
      { layer: at(abiOut), reason: 'abi' },
      { layer: at(tooNew), reason: 'kernel' },
    ]);
    expect(selected.ok && selected.layer).toBe(high2);
    expect(detail.layer).toBe(at(high2));
    // The same verdict selectLayer gives, and consider's lists unchanged.
    expect(selectLayer(catalog, object(2), KV(6, 1))).toEqual(selected);
    expect(consider(catalog, object(2), KV(6, 1))).toEqual({ candidates: detail.candidates, excluded: detail.excluded });
  });

  it('a refusal keeps what was weighed: an ambiguity has candidates and no layer', () => {
    const twin = layer({ kernelMin: KV(4, 11), revision: 2 });
    const { selected, detail } = selectExplained([high2, twin], object(1), KV(5, 0));
    expect(selected.ok).toBe(false);
    expect(detail).toEqual({ layer: null, candidates: [0, 1], excluded: [] });
  });

  it('no candidate: every layer excluded, no layer, the same reason selectLayer gives', () => {
    const { selected, detail } = selectExplained([other, tooNew], object(2), KV(5, 0));
    expect(detail).toEqual({ layer: null, candidates: [], excluded: [{ layer: 0, reason: 'machine' }, { layer: 1, reason: 'kernel' }] });
    expect(selected).toEqual(selectLayer([other, tooNew], object(2), KV(5, 0)));
    expect(selected.ok ? '' : selected.reason).toMatch(/the catalog has for X86_64: layer-\d+ revision 1 \(ABI 1\.\.2, kernel >= 6\.2\.0/);
  });
});
