// Where a command's result goes, from -o / --in-place and what the input is. An output name that
// asks for something syslayer cannot write (a compression it has no codec for, another archive
// format) is a usage error, never a directory created under that name.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { TAR_OUTPUT_NAMES, outputFormatOf, type Compression } from '../tar/compression.js';
import type { ImageInput } from '../sources/detect.js';

export type ImageOutput =
  /** scan, plan and verify write nothing. */
  | { kind: 'none' }
  /** The image itself, file by file (a directory, or one file). */
  | { kind: 'in-place' }
  /** A directory: a copy of a directory image rewritten, or a tar stream extracted. */
  | { kind: 'directory'; path: string }
  /** One file: the result of binding or unbinding one file. */
  | { kind: 'file'; path: string }
  /** A tar stream: a tarball, or standard output for `-`. */
  | { kind: 'tar'; path: string; compression: Compression }
  /** A container image in the input's format: an OCI layout directory, or an archive (a .tar, or `-`). */
  | { kind: 'container'; path: string; archive: boolean };

export const STANDARD_STREAM = '-';

export function chooseOutput(writes: boolean, input: ImageInput, output: string | undefined, inPlace: boolean): ImageOutput {
  if (!writes) return { kind: 'none' };
  if (inPlace && output !== undefined) throw new UsageError('-o and --in-place exclude each other: give one');
  if (!inPlace && output === undefined) throw new UsageError(`say where the result goes: -o <path> (a directory, ${TAR_OUTPUT_NAMES}, or - for standard output) or --in-place`);
  if (input.kind === 'container') return containerOutput(input, output, inPlace);
  if (inPlace) {
    if (input.kind === 'tar') throw new UsageError(`${input.name}: --in-place rewrites a directory or one file; a tar image is written with -o`);
    return { kind: 'in-place' };
  }
  const name = output!;
  if (name === STANDARD_STREAM) {
    if (input.kind === 'file') throw new UsageError('-o - writes a tar stream; one file is written with -o <file>');
    return { kind: 'tar', path: name, compression: input.kind === 'tar' ? input.compression : 'none' };
  }
  if (input.name !== STANDARD_STREAM && resolve(name) === resolve(input.path)) throw new UsageError(`-o ${name} is the input itself: use --in-place`);
  const format = outputFormatOf(name);
  if (format.kind === 'refused') throw new UsageError(`-o ${name}: ${format.reason}`);
  if (format.kind === 'tar') {
    if (input.kind === 'file') throw new UsageError(`-o ${name}: one file is written as a file, not as a tar image`);
    return { kind: 'tar', path: name, compression: format.compression };
  }
  return input.kind === 'file' ? { kind: 'file', path: name } : { kind: 'directory', path: name };
}

/** A container image goes out in its own format: a layout directory or an oci-archive, a docker archive as a .tar. */
function containerOutput(input: ImageInput & { kind: 'container' }, output: string | undefined, inPlace: boolean): ImageOutput {
  if (inPlace) throw new UsageError(`${input.name}: --in-place does not rewrite a container image (other images may share its blobs): write it with -o`);
  const name = output!;
  if (name === STANDARD_STREAM) return { kind: 'container', path: name, archive: true };
  if (input.name !== STANDARD_STREAM && resolve(name) === resolve(input.path)) throw new UsageError(`-o ${name} is the input itself: write the image somewhere else`);
  const format = outputFormatOf(name);
  if (format.kind === 'tar' && format.compression === 'none') return { kind: 'container', path: name, archive: true };
  if (format.kind !== 'other') throw new UsageError(`-o ${name}: a container image is written as ${input.format === 'oci' ? 'a directory (an OCI image layout) or ' : ''}a .tar archive; its layers keep their own compression`);
  if (input.format === 'docker') throw new UsageError(`-o ${name}: a docker archive is written as a .tar archive (or - for standard output)`);
  return { kind: 'container', path: name, archive: false };
}
