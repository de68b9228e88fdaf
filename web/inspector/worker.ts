// The inspector's worker: the WebAssembly core (build/syslayer.wasm, inlined) and the same
// TypeScript the CLI runs around it (inspectBytes, layerFromBytes, decide), called by the page
// through comlink. It keeps what the user gave it (files and the catalog) for the page's life.
import { expose } from 'comlink';
import wasm from '../../build/syslayer.wasm';
import { MemoryCore } from '../../src/core/memory-core.js';
import { inspectBytes, inspectionJson } from '../../src/report/inspection.js';
import { formatInspect } from '../../src/report/inspect-text.js';
import { layerFromBytes, type Layer } from '../../src/catalog/layer.js';
import { decide, isClient } from '../../src/pipeline/decide.js';
import { formatKernelVersion, parseKernelVersion } from '../../src/catalog/kernel-version.js';
import { layerSummary } from '../../src/report/layer-summary.js';
import type { ElfFacts } from '../../src/core/facts.js';
import { REFERENCE_LAYERS } from './reference-layers.js';
import type { CatalogView, FileView, InspectorApi, PlanView } from './api.js';

const core = new MemoryCore(new WebAssembly.Module(wasm));

const referenceCatalog = (): Layer[] => REFERENCE_LAYERS.map((l) => layerFromBytes(core, l.path, l.bytes)).filter((l): l is Layer => l !== null);

let catalog = referenceCatalog();
let source: CatalogView['source'] = 'reference';
const files = new Map<number, ElfFacts>();
let nextId = 1;

const catalogView = (): CatalogView => ({ source, layers: catalog.map(layerSummary) });

const api: InspectorApi = {
  inspect(name, buffer) {
    const bytes = new Uint8Array(buffer);
    const inspection = inspectBytes(core, bytes);
    const view: FileView = { id: nextId++, name, kind: 'not-elf', text: formatInspect(name, inspection), json: inspectionJson(name, inspection) };
    const { record } = inspection;
    if (record.status === 'error') view.kind = 'error';
    else if (record.status === 'elf') {
      const f = record.facts;
      if (f.type === 'REL' && f.syslayer?.layer) {
        view.kind = 'layer';
        if (source === 'reference') catalog = [];
        source = 'dropped';
        // Scanned again by layerFromBytes, which also links it for each ABI it serves: a few KiB.
        catalog.push(layerFromBytes(core, name, bytes)!);
      } else {
        view.kind = isClient(f) ? 'client' : 'elf';
        files.set(view.id, f);
      }
    }
    return view;
  },

  plan(id, kernelText) {
    const f = files.get(id);
    if (f === undefined) throw new Error(`no ELF file ${id} was inspected`);
    const kernel = parseKernelVersion(kernelText.trim());
    const d = decide(f, catalog, kernel);
    const view: PlanView = { kernel: formatKernelVersion(kernel), action: d.action === 'bind' ? 'bind' : d.action === 'refuse' ? 'refuse' : 'pass', layer: null, reason: null, selection: null, machine: f.machineName, abi: f.syslayer?.abi ?? null };
    if (d.action === 'bind') {
      const l = catalog[d.layer]!;
      view.layer = `${l.name} revision ${l.revision}`;
      view.selection = d.selection;
    } else if (d.action === 'refuse') {
      view.reason = d.reason;
      view.selection = d.selection ?? null;
    }
    return view;
  },

  catalog: catalogView,

  resetCatalog() {
    catalog = referenceCatalog();
    source = 'reference';
    return catalogView();
  },
};

expose(api);
