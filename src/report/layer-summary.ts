// A catalog layer as reports carry it (docs/report-json.md, `catalog`): the CLI's JSON and the
// report page's inspector, which builds its catalog in the browser, describe layers alike.
import type { Layer } from '../catalog/layer.js';
import { formatKernelVersion } from '../catalog/kernel-version.js';

export function layerSummary(l: Layer) {
  return {
    name: l.name,
    path: l.path,
    machine: l.machineName,
    abiMin: l.abiMin,
    abiMax: l.abiMax,
    kernelMin: formatKernelVersion(l.kernelMin),
    revision: l.revision,
    slots: Object.fromEntries([...l.images].map(([abi, img]) => [abi, img.implemented.filter(Boolean).length + '/' + img.slotCount])),
    linkErrors: Object.fromEntries(l.linkErrors),
  };
}
