// `syslayer digest IMAGE`: the image's input digest and the key a bind of it to its own format
// would have (docs/scale.md), for scripts that schedule, cache or check runs; `--listing` prints
// the canonical listing the input digest is taken of, to see why two images differ.
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput } from '../sources/detect.js';
import { inputDigest, listingOf } from '../scale/input-digest.js';
import { layerDigests, runKey, type KeyParts } from '../scale/run-key.js';
import { ownFormat } from '../scale/own-format.js';
import { UsageError } from '../errors.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

export interface DigestResult {
  image: string;
  key: string;
  keyParts: KeyParts;
}

export async function digestImage(image: string, o: { kernel: KernelOption; layerDirs: readonly string[] }): Promise<DigestResult> {
  if (image === '-') throw new UsageError('digest: an image on standard input has no key to reuse: name a file or directory');
  checkLayerDirs(o.layerDirs);
  const input = detectInput(image);
  const { key, parts } = runKey(await inputDigest(input), { layers: layerDigests(o.layerDirs), kernel: o.kernel, output: ownFormat(input), containerFormat: input.kind === 'container' ? input.format : undefined });
  return { image, key, keyParts: parts };
}

export async function imageListing(image: string): Promise<string> {
  const input = detectInput(image);
  if (input.kind === 'container') throw new UsageError(`${image}: a container image's digest is that of its ${input.format === 'oci' ? 'index.json' : 'manifest.json'}, not of a listing`);
  return listingOf(input);
}
