// Outputs in their input's own format: what `bind --images` writes for each entry, what a key is
// asked for when no output is named (`digest`), and what `merge` writes for a shard's image.
import type { ImageInput } from '../sources/detect.js';
import type { ImageOutput } from '../sinks/choose-output.js';

/** An output in the input's own format (what `bind --images` writes), for a key asked for without one. */
export function ownFormat(input: ImageInput): ImageOutput {
  switch (input.kind) {
    case 'tar': return { kind: 'tar', path: '', compression: input.compression };
    case 'container': return { kind: 'container', path: '', archive: input.archive };
    default: return { kind: input.kind, path: '' };
  }
}

/** Whether `output` is in `input`'s own format. */
export function inOwnFormat(input: ImageInput, output: ImageOutput): boolean {
  return input.kind === 'directory' ? output.kind === 'directory'
    : input.kind === 'file' ? output.kind === 'file'
    : input.kind === 'tar' ? output.kind === 'tar' && output.compression === input.compression
    : output.kind === 'container' && output.archive === input.archive;
}

/** What an input is, for a message: "a gzip tar", "a directory", … */
export function describeFormat(input: ImageInput): string {
  return input.kind === 'tar' ? `a ${input.compression === 'none' ? 'plain' : input.compression} tar`
    : input.kind === 'container' ? `a container image (${input.format}${input.archive ? ' archive' : ''})` : `a ${input.kind}`;
}
