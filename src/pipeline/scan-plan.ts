// `syslayer scan` of a directory or one file: the scan and nothing decided, in the form of a plan so
// that scan reports as plan and bind do. The catalog, the selection and their modules are never
// loaded, and no client is decided for a kernel no one named.
import { dirname } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import type { ImageInput } from '../sources/detect.js';
import { scanImage } from '../classify/scan-directory.js';
import { singleFileScan } from '../classify/scan-file.js';
import type { Plan } from './plan.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';

export async function scanPlan(input: ImageInput & { kind: 'directory' | 'file' }, options: { threads?: number; timers: Timers; progress: Progress }): Promise<Plan> {
  const image = input.path;
  const single = input.kind === 'file';
  const scan = single ? singleFileScan(image, new Core(compileCore())) : await scanImage(image, options);
  return { image, root: single ? dirname(image) : image, single, kernel: 0, kernelText: 'none', catalog: [], clients: [], programs: [], scan };
}
