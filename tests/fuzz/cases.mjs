// One fuzz case from (seed, case index): which input it mutates and how. The same generator serves
// `npm run fuzz` (benchmarks/fuzz-core.mjs) and tests/fuzz-core.test.ts, so a case found by either
// is reproduced by both from its two numbers alone.

/** mulberry32, as in tests/scan-corrupt.test.ts: small, fast and good enough to spread mutations. */
export function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The case's own generator: independent of every other case, so any one can be replayed alone. */
export function caseRandom(seed, index) {
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) | 0);
  for (let i = 0; i < 4; i++) random(); // the first outputs of nearby seeds are correlated
  return random;
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

function read(bytes, at, width) {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

function write(bytes, at, width, value) {
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width; i++, v >>= 8n) bytes[at + i] = Number(v & 0xffn);
}

/** A value for a field of `width` bytes holding `old`: boundaries, neighbours, the file's own numbers. */
function fieldValue(random, width, old, hints) {
  const bits = BigInt(width * 8);
  const ones = (1n << bits) - 1n;
  const r = random();
  if (r < 0.3 && hints.length) return BigInt(pick(random, hints)) & ones;
  const generic = [0n, 1n, ones, ones >> 1n, (ones >> 1n) + 1n, old + 1n, old - 1n, old * 2n, old + 0x1000n, old ^ (1n << BigInt(Math.floor(random() * Number(bits)))),
    0x1000n, 0x10000n, 0xfffff000n, 0xfffffffffffff000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, BigInt(Math.floor(random() * 2 ** 32))];
  return pick(random, generic) & ones;
}

/**
 * Mutates `input` (from targets.mjs) with the case's random stream: one to four structure-aware
 * field changes, random byte flips or a truncation. Returns the bytes and what was done, in words.
 */
export function mutateInput(input, random) {
  const bytes = Uint8Array.from(input.bytes);
  const steps = [];
  const n = random() < 0.7 ? 1 : random() < 0.67 ? 2 : 3 + Math.floor(random() * 2);
  let cut = -1;
  for (let k = 0; k < n; k++) {
    const r = random();
    if (r < 0.78 && input.targets.length) {
      const t = pick(random, input.targets);
      if (t.width === 0) {
        // A span (a string table, the reservation's bytes): one byte somewhere in it.
        const at = t.at + Math.floor(random() * t.span);
        if (at >= bytes.length) continue;
        const v = pick(random, [0, 0x2f, 0x41, 0xff, Math.floor(random() * 256)]);
        steps.push(`${t.name} @0x${at.toString(16)}: 0x${bytes[at].toString(16)} -> 0x${v.toString(16)}`);
        bytes[at] = v;
        continue;
      }
      const old = read(bytes, t.at, t.width);
      const v = fieldValue(random, t.width, old, t.hints);
      write(bytes, t.at, t.width, v);
      for (const at of t.also ?? []) write(bytes, at, t.width, v);
      steps.push(`${t.name} @0x${t.at.toString(16)}: 0x${old.toString(16)} -> 0x${BigInt.asUintN(t.width * 8, v).toString(16)}`);
    } else if (r < 0.93) {
      // Byte flips, mostly where headers and tables are (the first 4 KiB and the section headers).
      const flips = 1 + Math.floor(random() * 6);
      const where = [];
      for (let i = 0; i < flips; i++) {
        const span = random() < 0.6 ? Math.min(4096, bytes.length) : bytes.length;
        const at = Math.floor(random() * span);
        bytes[at] ^= 1 + Math.floor(random() * 255);
        where.push(`0x${at.toString(16)}`);
      }
      steps.push(`flipped bytes at ${where.join(' ')}`);
    } else {
      // Truncation at a structure boundary (or just past it), or anywhere.
      const at = random() < 0.6 ? pick(random, input.boundaries) + (random() < 0.5 ? 0 : 1 + Math.floor(random() * 8)) : Math.floor(random() * bytes.length);
      cut = cut < 0 ? Math.min(at, bytes.length) : Math.min(cut, at);
    }
  }
  if (cut >= 0) steps.push(`truncated at ${cut}`);
  return { bytes: cut >= 0 ? bytes.subarray(0, cut) : bytes, steps };
}

/** Share of cases that mutate a layer; the rest mutate a client (unbound or bound). */
const LAYER_SHARE = 0.3;

/**
 * Case `index` of run `seed` over `inputs` ({ layers, clients } of inputs.mjs): the input it
 * mutates, the mutated bytes, the steps, and the random stream the runner continues with (which
 * good partner to bind with, which kernel). `bytes` replaces the mutation when replaying a fixture.
 */
export function makeCase(inputs, seed, index, replay = null) {
  const random = caseRandom(seed, index);
  const pool = random() < LAYER_SHARE ? inputs.layers : inputs.clients;
  let input = pool[Math.floor(random() * pool.length)];
  const mutated = mutateInput(input, random);
  if (replay) {
    input = [...inputs.layers, ...inputs.clients].find((x) => x.label === replay.input);
    if (!input) throw new Error(`fixture input ${replay.input} is not an input any more`);
    return { input, bytes: replay.bytes, steps: replay.steps, random };
  }
  return { input, bytes: mutated.bytes, steps: mutated.steps, random };
}
