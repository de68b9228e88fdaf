// The fuzzer's inputs: the SDK's prebuilt reference layers and example clients of both
// architectures, and each client bound with each layer of its architecture (by the real flow,
// bindLoaded), so bound clients are mutated too: their bind note, their reservation's bytes, the
// fields binding changed.
import { mkdtempSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core, compileCore, corePath } from '../../dist/src/core/core.js';
import { layerFromBytes } from '../../dist/src/catalog/layer.js';
import { bindLoaded } from '../../dist/src/transform/file-operations.js';
import { describeInput } from './targets.mjs';

const PREBUILT = new URL('../../sdk/prebuilt/', import.meta.url).pathname;
const ARCHES = ['x86_64', 'aarch64'];
const KERNEL = 0x060100;

/** Layers first, then clients (unbound, then bound); plain data, to post to workers. */
export function fuzzInputs() {
  const layers = [];
  const clients = [];
  const bound = [];
  const scratch = mkdtempSync(join(tmpdir(), 'syslayer-fuzz-inputs-'));
  const core = new Core(compileCore(corePath(false)));
  try {
    for (const arch of ARCHES) {
      for (const f of readdirSync(join(PREBUILT, arch, 'layers')).sort()) {
        layers.push(describeInput(join(PREBUILT, arch, 'layers', f), `${arch}/layers/${f}`, 'layer', arch));
      }
      for (const dir of ['bin', 'lib']) {
        for (const f of readdirSync(join(PREBUILT, arch, dir)).sort()) {
          clients.push(describeInput(join(PREBUILT, arch, dir, f), `${arch}/${dir}/${f}`, 'client', arch));
        }
      }
    }
    for (const client of clients) {
      for (const l of layers.filter((x) => x.arch === client.arch)) {
        const layer = layerFromBytes(core, l.label, l.bytes);
        const r = bindLoaded(core, core.loadBytes(client.bytes), layer, KERNEL);
        if (!r.ok) throw new Error(`cannot bind ${client.label} with ${l.label}: ${r.error}`);
        const path = join(scratch, `${bound.length}`);
        writeFileSync(path, r.output);
        bound.push(describeInput(path, `${client.label} bound to ${l.label}`, 'client', client.arch, true));
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { layers, clients: [...clients, ...bound] };
}
