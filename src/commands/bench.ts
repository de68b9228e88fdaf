// `syslayer bench <image>`: the benchmark suite (benchmarks/run.mjs, DESIGN §8) run on a user's
// own directory image instead of the generated ones. The suite times syslayer as separate
// processes beside its peers (scanelf, readelf, patchelf, cp -a), so it runs as a child process;
// its options pass through as given.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { UsageError } from '../errors.js';

export function suitePath(): string {
  return join(packageRoot(), 'benchmarks', 'run.mjs');
}

/** Runs the suite on `image` with `suiteOptions`; resolves to its exit code. */
export async function benchImage(image: string, suiteOptions: readonly string[]): Promise<number> {
  const suite = suitePath();
  if (!existsSync(suite)) throw new UsageError(`bench needs the benchmark suite at ${suite} (it comes with a checkout of syslayer)`);
  const child = spawn(process.execPath, [suite, '--image', image, ...suiteOptions], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
