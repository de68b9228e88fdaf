// Scanning, binding and unbinding one file held in memory — an entry of a tar image — with a
// core instance: what a worker does per entry. Unlike files on disk, the result goes back to the
// main thread as bytes, which writes the output image in input order.
import type { Core } from '../core/core.js';
import type { ElfFacts } from '../core/facts.js';
import type { Layer } from '../catalog/layer.js';
import { decide, isClient, type Decision } from '../pipeline/decide.js';
import { bindLoaded, originalMatches, verifyLoaded, type FileOutcome } from './file-operations.js';

export interface EntryTask {
  op: 'scan' | 'bind' | 'unbind' | 'verify';
  path: string;
  bytes: Uint8Array;
  catalog: Layer[];
  /** The target kernel; for verify, 0 means: the kernel each bind record names. */
  targetKernel: number;
}

export interface EntryResult {
  path: string;
  /** The ELF facts, or null for a file that is not ELF. */
  facts: ElfFacts | null;
  /** Why the file could not be read as ELF. */
  error: { error: string; errorOffset: number } | null;
  /** What happened to a syslayer client (bind and unbind), or null. */
  outcome: FileOutcome | null;
  /** The new contents, or null when the entry stays as it was. */
  bytes: Uint8Array | null;
  /** For bind: what the pipeline's one decision said of this object, or null for a non-ELF file. */
  decision: Decision | null;
}


export function processEntry(core: Core, task: EntryTask): EntryResult {
  const { path, bytes } = task;
  const { record: scanned, whole } = core.scanBytes(bytes);
  if (scanned.status === 'not-elf') return { path, facts: null, error: null, outcome: null, bytes: null, decision: null };
  if (scanned.status === 'error') return { path, facts: null, error: { error: scanned.error, errorOffset: scanned.errorOffset }, outcome: null, bytes: null, decision: null };
  const facts = scanned.facts;
  const result: EntryResult = { path, facts, error: null, outcome: null, bytes: null, decision: null };
  if (task.op === 'scan' || !isClient(facts)) return result;
  // A client is loaded whole (most are, by the scan: they are small); the scan only read it.
  const length = whole ? bytes.length : core.loadBytes(bytes);

  if (task.op === 'verify') {
    return { ...result, outcome: verifyLoaded(core, length, path, task.catalog, task.targetKernel === 0 ? null : task.targetKernel) };
  }

  if (task.op === 'unbind') {
    if (!facts.syslayer!.bound) return result;
    const p = core.prepare(length);
    if (!p.ok) return { ...result, outcome: { path, status: 'error', error: p.error } };
    const mismatch = originalMatches(core, p.prepared);
    if (mismatch) return { ...result, outcome: { path, status: 'error', error: mismatch } };
    return { ...result, outcome: { path, status: 'unbound', abi: p.prepared.abi, layer: p.prepared.old?.layerName }, bytes: core.inputBytes(p.prepared.originalLength).slice() };
  }

  const decision = decide(facts, task.catalog, task.targetKernel);
  if (decision.action !== 'bind') return { ...result, decision, outcome: decision.action === 'refuse' ? { path, status: 'error', error: decision.reason } : null };
  const layer = task.catalog[decision.layer]!;
  const bound = bindLoaded(core, length, layer, task.targetKernel, () => core.loadBytes(bytes));
  if (!bound.ok) return { ...result, decision, outcome: { path, status: 'error', error: bound.error } };
  const outcome: FileOutcome = { path, status: bound.sameAsBefore ? 'unchanged' : 'bound', abi: bound.abi, layer: layer.name };
  return { ...result, decision, outcome, bytes: bound.sameAsBefore ? null : bound.output.slice() };
}
