// One run of the pipeline (DESIGN §9): source → catalog → classify → decide → transform (pool) →
// sink → report. The source and the sink decide how bytes travel: an image read where it is (a
// directory, one file) and written where it is or to a copy goes file by file, each worker
// reading and writing its own files; anything with a tar stream on either side goes entry by
// entry through one pass. Both classify with the same core, decide with the one `decide`, and
// end in the same report, so a directory and the same image as a tarball report alike.
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput, type ImageInput } from '../sources/detect.js';
import { chooseOutput, STANDARD_STREAM, type ImageOutput } from '../sinks/choose-output.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { Plan } from './plan.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

export type CommandName = 'scan' | 'plan' | 'bind' | 'unbind' | 'verify';

export interface RunRequest {
  command: CommandName;
  /** A path, or `-` for standard input. */
  input: string;
  /** -o: a path, or `-` for standard output. */
  output?: string;
  inPlace?: boolean;
  kernel: KernelOption;
  layerDirs: readonly string[];
  threads?: number;
  /** Seconds to wait for the lock of an image written in place (living/image-lock.ts). */
  wait?: number;
  /** Told once when a run waits for that lock (the command line prints it). */
  onWait?: (message: string) => void;
  timers: Timers;
  progress: Progress;
}

/** What a run did: the plan (its scan, catalog, decisions and programs) and each client's outcome. */
export interface RunReport {
  command: CommandName | 'sync';
  plan: Plan;
  /** Bind, unbind and verify: what happened to each client; empty for scan and plan. */
  outcomes: FileOutcome[];
  /** Where the image went, when it went to standard output (the report then goes to standard error). */
  imageOnStandardOutput: boolean;
  /** What a person should know that is not a file's failure (owners a run could not keep). */
  warnings: string[];
  /** sync: what it looked at and did (living/sync.ts). */
  sync?: import('../living/sync.js').SyncSummary;
}

const writes = (c: CommandName) => c === 'bind' || c === 'unbind';

export async function runPipeline(req: RunRequest): Promise<RunReport> {
  checkLayerDirs(req.layerDirs);
  const spool = req.input === STANDARD_STREAM
    ? await req.timers.time('spool standard input', async () => (await import('../sources/stdin.js')).spoolStandardInput()) : null;
  try {
    const input = detectInput(spool?.path ?? req.input, req.input);
    const output = chooseOutput(writes(req.command), input, req.output, req.inPlace === true);
    const done = input.kind === 'directory' && (output.kind === 'in-place' || output.kind === 'directory')
      ? await livingImage(req, input.path, output.kind === 'in-place' ? input.path : output.path, output.kind === 'in-place', () => transform(req, input, output))
      : await transform(req, input, output);
    return { command: req.command, warnings: [], ...done, imageOnStandardOutput: (output.kind === 'tar' || output.kind === 'container') && output.path === STANDARD_STREAM };
  } finally {
    spool?.remove();
  }
}

type Transformed = { plan: Plan; outcomes: FileOutcome[]; warnings?: string[] };

/**
 * A directory image written as a directory keeps its state (DESIGN §11, docs/living-images.md):
 * in place under the image's lock, which every writer of it takes; after a bind the state and
 * the integrity manifests are written in the result, and after an unbind that restored every
 * client they are removed, with the directories binding made for them.
 */
async function livingImage(req: RunRequest, image: string, result: string, inPlace: boolean, work: () => Promise<Transformed>): Promise<Transformed> {
  const living = await import('../living/sync.js');
  // Making var/lib/syslayer changes the times of the directories above it: noted first, put back last.
  let times = inPlace ? living.noteDirectoryTimes(result) : null;
  const lock = inPlace ? await living.takeImageLock(image, req.command, req.wait, req.onWait) : null;
  let forget: string[] = [];
  try {
    const done = await work();
    times ??= living.noteDirectoryTimes(result);
    await req.timers.time('record state', async () => {
      if (req.command === 'bind') {
        if (inPlace) {
          const previous = (await import('../living/image-state.js')).readImageState(result);
          living.recordBinding(result, { kernel: done.plan.kernel, catalog: done.plan.catalog, outcomes: done.outcomes, examined: null,
            previous: 'state' in previous ? previous.state : null, created: lock!.created });
        } else {
          living.recordCopy(image, result, { kernel: done.plan.kernel, catalog: done.plan.catalog, outcomes: done.outcomes });
        }
      } else if (done.outcomes.every((o) => o.status === 'unbound' || o.status === 'not-bound')) {
        forget = living.forgetBinding(image, result);
      }
    });
    return done;
  } finally {
    lock?.release();
    living.removeEmptyDirectories(result, [...new Set([...forget, ...(lock?.created ?? [])])].sort());
    times?.restore();
  }
}

/** Picks how the bytes travel, and runs the stages that way. */
async function transform(req: RunRequest, input: ImageInput, output: ImageOutput): Promise<{ plan: Plan; outcomes: FileOutcome[]; warnings?: string[] }> {
  const common = { kernel: req.kernel, layerDirs: req.layerDirs, threads: req.threads, timers: req.timers, progress: req.progress };
  if (input.kind === 'container') {
    const { runContainerImage } = await req.timers.time('load container pipeline', () => import('./rewrite-container.js'));
    return runContainerImage(input, output, { op: req.command, ...common });
  }
  if (input.kind === 'tar' || output.kind === 'tar') {
    const { runTar } = await req.timers.time('load tar pipeline', () => import('./rewrite-stream.js'));
    return runTar(input, output, { op: req.command, ...common });
  }
  const local = input;
  switch (req.command) {
    case 'scan': {
      const { scanPlan } = await req.timers.time('load scan', () => import('./scan-plan.js'));
      return { plan: await scanPlan(local, common), outcomes: [] };
    }
    case 'plan': {
      const { makePlan } = await req.timers.time('load plan', () => import('./plan.js'));
      return { plan: await makePlan(local, common), outcomes: [] };
    }
    case 'verify':
      return (await req.timers.time('load rewrite', () => import('./rewrite-directory.js'))).verifyImage(local, common);
    case 'bind':
    case 'unbind': {
      if (output.kind !== 'in-place' && output.kind !== 'directory' && output.kind !== 'file') throw new Error(`unexpected output ${output.kind}`);
      if (req.command === 'bind') {
        const { bindInOnePass, takesOnePass } = await req.timers.time('load one pass', () => import('./bind-in-one-pass.js'));
        if (takesOnePass(local, output)) return bindInOnePass(local, { ...common, output });
      }
      const { bindImage, unbindImage } = await req.timers.time('load rewrite', () => import('./rewrite-directory.js'));
      return (req.command === 'bind' ? bindImage : unbindImage)(local, { ...common, output });
    }
  }
}
