// Runs one fuzz case through every core entry point it applies to, the way the product drives
// them (the compiled modules of dist/: layerFromBytes links a layer as the catalog does,
// bindLoaded binds as a worker does, verifyLoaded verifies, prepare + originalMatches unbind),
// and checks the oracles. Nothing of the binder is re-implemented here.
import { Core } from '../../dist/src/core/core.js';
import { layerFromBytes } from '../../dist/src/catalog/layer.js';
import { knownAbis, slotNames } from '../../dist/src/catalog/abi-table.js';
import { bindLoaded, verifyLoaded, originalMatches } from '../../dist/src/transform/file-operations.js';

/** A failed oracle: recorded with the case, kept as a fixture. */
export class CaseFailure extends Error {
  constructor(entry, what) {
    super(what);
    this.entry = entry;
  }
}

/**
 * The memory a core may hold after a case. A fixed budget for what the good inputs need (input and
 * scratch areas, the resident catalog, the incremental GC's heap: 1 MiB over 2,000 cases without
 * resized reservations), a few copies of the largest input, and three times the most a file may
 * legitimately make binding append: the reservation (p_memsz at most 16 MiB) and its alignment
 * padding (p_align at most 2 MiB), the core's limits (assembly/bind/client.ts). Three times: the
 * input area holds the bound file, growing it needs the old and the new block at once, and the
 * allocator keeps freed blocks (40.4 MiB was the largest in 100,000 cases, benchmarks/RESULTS.md).
 * Memory only grows, so this is checked after every case.
 */
export const MEMORY_BASE = 4 << 20;
const MOST_BINDING_APPENDS = (16 << 20) + (2 << 20);
export const memoryBound = (largestInput) => MEMORY_BASE + 8 * largestInput + 3 * MOST_BINDING_APPENDS;

/** One core (release or debug) with the good layers of both architectures linked and resident. */
export class FuzzCore {
  constructor(module, layers, largestInput) {
    this.core = new Core(module);
    this.catalog = layers.map((l) => {
      const layer = layerFromBytes(this.core, l.label, l.bytes);
      if (!layer || layer.images.size === 0) throw new Error(`reference layer ${l.label} does not link`);
      for (const linked of layer.images.values()) linked.address = this.core.makeResident(linked.image);
      return layer;
    });
    // Mutations never lengthen a file: the largest input of the run bounds every case's.
    this.largestInput = largestInput;
  }

  /** Bytes of WebAssembly memory; the core's exports are private to TypeScript, not to JavaScript. */
  memory() {
    return this.core.exports.memory.buffer.byteLength;
  }
}

/** A core outcome that failed must say why on one line, naming a field or an offset. */
function cleanError(entry, error) {
  if (typeof error !== 'string' || error.length === 0) throw new CaseFailure(entry, `empty error`);
  if (/\n/.test(error)) throw new CaseFailure(entry, `error on more than one line: ${JSON.stringify(error)}`);
  if (/internal error|unreachable|RuntimeError/i.test(error)) throw new CaseFailure(entry, `error reports a bug: ${error}`);
}

function coreOutcome(entry, r) {
  if (!r.ok) {
    cleanError(entry, r.error);
    if (!Number.isFinite(r.errorOffset)) throw new CaseFailure(entry, `error without an offset: ${r.error}`);
  }
  return r.ok ? 'ok' : 'refused';
}

const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

/** Calls `fn` as entry point `entry`: anything thrown (a wasm trap above all) is a crash of that entry. */
function entryPoint(entry, fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof CaseFailure) throw error;
    throw new CaseFailure(entry, `crash: ${error?.constructor?.name ?? 'error'}: ${error?.message ?? error}`);
  }
}

/** The original bindLoaded binds from, as unbind should give it back: the input itself, its restored original, or it detached. */
function originalOf(fc, bytes) {
  const core = fc.core;
  const p = core.prepare(core.loadBytes(bytes));
  if (p.ok && (!p.prepared.old || originalMatches(core, p.prepared) === null)) {
    const original = core.inputBytes(p.prepared.originalLength).slice();
    if (!p.prepared.old && !equal(original, bytes)) throw new CaseFailure('prepare', 'prepare changed an unbound client');
    return original;
  }
  const d = core.detach(core.loadBytes(bytes));
  if (!d.ok) throw new CaseFailure('detach', `bind detached the file but detach alone refuses it: ${d.error}`);
  return core.inputBytes(d.prepared.originalLength).slice();
}

/** Oracles for a client that bound: scans as bound, verifies, unbinds byte-exactly, rebinds to the same bytes. */
function checkBound(fc, input, output, layer, kernel, catalog, counts) {
  const core = fc.core;
  const original = entryPoint('unbind', () => originalOf(fc, input));
  const scanned = entryPoint('scan', () => core.scanLoaded(core.loadBytes(output)));
  // A corruption the binder does not look at (a section it never reads) stays in the output:
  // only an input that scans cleanly must give an output that does.
  const inputScan = entryPoint('scan', () => core.scanLoaded(core.loadBytes(input)));
  if (inputScan.status === 'not-elf') throw new CaseFailure('bind', 'a file that is not ELF was bound');
  if (inputScan.status === 'elf' && (scanned.status !== 'elf' || !scanned.facts.syslayer?.bound)) throw new CaseFailure('scan', `bound output does not scan as bound (${scanned.status})`);
  const v = entryPoint('verify', () => verifyLoaded(core, core.loadBytes(output), 'fuzz', catalog, null));
  if (v.status !== 'verified') throw new CaseFailure('verify', `bound output does not verify: ${v.error}`);
  const p = entryPoint('unbind', () => core.prepare(core.loadBytes(output)));
  if (!p.ok || !p.prepared.old) throw new CaseFailure('unbind', `bound output does not unbind: ${p.ok ? 'not bound' : p.error}`);
  if (originalMatches(core, p.prepared) !== null) throw new CaseFailure('unbind', 'unbound output does not match its record');
  if (!equal(core.inputBytes(p.prepared.originalLength), original)) throw new CaseFailure('unbind', 'unbind does not give back the original byte for byte');
  const again = entryPoint('bind', () => bindLoaded(core, core.loadBytes(output), layer, kernel));
  if (!again.ok) throw new CaseFailure('bind', `binding the bound output again fails: ${again.error}`);
  if (!equal(again.output, output)) throw new CaseFailure('bind', 'binding the bound output again gives different bytes');
  counts.bound = (counts.bound ?? 0) + 1;
}

/** Binds `client` with `layer` as a worker does, then checks what came out. */
function bindAndCheck(fc, client, layer, random, catalog, counts) {
  const core = fc.core;
  // A target kernel for which the selection rule picks this layer of the catalog (verify checks
  // it does): its own kernel_min, or a later one when no layer of the catalog is for a later kernel.
  const newest = catalog.every((l) => l.kernelMin <= layer.kernelMin);
  const kernel = newest ? Math.max(layer.kernelMin, random() < 0.5 ? 0x040b00 : 0x060100) >>> 0 : layer.kernelMin;
  const r = entryPoint('bind', () => bindLoaded(core, core.loadBytes(client), layer, kernel, () => core.loadBytes(client)));
  count(counts, 'bind', r.ok ? 'ok' : 'refused');
  if (!r.ok) return cleanError('bind', r.error);
  checkBound(fc, client, r.output.slice(), layer, kernel, catalog, counts);
}

function count(counts, entry, outcome) {
  const key = `${entry}:${outcome}`;
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Scans the file whole (as bind loads it) and chunk by chunk (as a scan of a large file or a tar
 * entry reads it): both must give the same record.
 */
function scanBothWays(fc, bytes, counts) {
  const core = fc.core;
  const whole = entryPoint('scan', () => core.scanLoaded(core.loadBytes(bytes)));
  count(counts, 'scan', whole.status);
  if (whole.status === 'error') cleanError('scan', whole.error);
  const chunked = entryPoint('scan', () => core.scanBytes(bytes).record);
  if (JSON.stringify(chunked) !== JSON.stringify(whole)) {
    throw new CaseFailure('scan', `scanning in chunks gives another record than scanning whole: ${JSON.stringify(chunked).slice(0, 200)} against ${JSON.stringify(whole).slice(0, 200)}`);
  }
}

/** A mutated layer: scan, link for every ABI table, and, when it still links, bind a good client with it. */
function layerCase(fc, c, clients) {
  const { bytes, input, random } = c;
  const core = fc.core;
  const counts = {};
  scanBothWays(fc, bytes, counts);
  for (const abi of knownAbis()) {
    const linked = entryPoint('link', () => core.linkLayer(bytes, slotNames(abi)));
    count(counts, 'link', coreOutcome('link', linked));
  }
  const layer = entryPoint('link', () => layerFromBytes(core, input.label, bytes));
  if (layer && layer.images.size > 0) {
    const partners = clients.filter((x) => x.arch === input.arch);
    bindAndCheck(fc, random() < 0.5 ? pick(random, partners.filter((x) => !x.bound)).bytes : pick(random, partners).bytes, layer, random, [layer], counts);
  }
  return counts;
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

/** A mutated client: scan, prepare + check, detach + check, unbind, verify, and bind with a good layer. */
function clientCase(fc, c) {
  const { bytes, input, random } = c;
  const core = fc.core;
  const counts = {};
  scanBothWays(fc, bytes, counts);
  const p = entryPoint('prepare', () => core.prepare(core.loadBytes(bytes)));
  count(counts, 'prepare', coreOutcome('prepare', p));
  if (p.ok) {
    if (p.prepared.old) entryPoint('unbind', () => originalMatches(core, p.prepared));
    count(counts, 'check', coreOutcome('check', entryPoint('check', () => core.check())));
  }
  const d = entryPoint('detach', () => core.detach(core.loadBytes(bytes)));
  count(counts, 'detach', coreOutcome('detach', d));
  if (d.ok) count(counts, 'check', coreOutcome('check', entryPoint('check', () => core.check())));
  const catalog = fc.catalog.filter((l) => l.path.startsWith(input.arch));
  const v = entryPoint('verify', () => verifyLoaded(core, core.loadBytes(bytes), 'fuzz', catalog, null));
  count(counts, 'verify', v.status);
  if (v.status === 'error') cleanError('verify', v.error);
  bindAndCheck(fc, bytes, pick(random, catalog), random, catalog, counts);
  return counts;
}

/**
 * Runs case `c` (cases.mjs) on `fc`; returns { counts, memory } or throws a CaseFailure. `clients`
 * are the unmutated clients, partners for a mutated layer.
 */
export function runCase(fc, c, clients) {
  const counts = c.input.role === 'layer' ? layerCase(fc, c, clients) : clientCase(fc, c);
  const memory = fc.memory();
  fc.largestInput = Math.max(fc.largestInput, c.bytes.length);
  if (memory > memoryBound(fc.largestInput)) {
    throw new CaseFailure('memory', `core memory ${memory} bytes after the case, over the bound ${memoryBound(fc.largestInput)} (largest input ${fc.largestInput})`);
  }
  return { counts, memory };
}
