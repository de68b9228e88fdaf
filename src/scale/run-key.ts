// The key of a bind (DESIGN §13, docs/scale.md): a run is a pure function of (input digest,
// catalog digests, options that change bytes, tool and compressor versions), and its key is the
// sha256 of those inputs written as canonical JSON (keys sorted, no spaces). Same key, same bytes:
// a result cache (--cache) and a rerun of a shard skip an image whose key they already hold.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatKernelVersion, type KernelOption } from '../catalog/kernel-version.js';
import { layerFiles } from '../catalog/catalog.js';
import { fsPath } from '../names/path-bytes.js';
import { toolVersion } from '../report/report-header.js';
import { packageRoot } from '../util/package-root.js';
import type { ImageOutput } from '../sinks/choose-output.js';
import type { Compression } from '../tar/compression.js';
import type { InputDigest } from './input-digest.js';

export interface KeyParts {
  input: InputDigest;
  /** sha256 of every file under the --layers directories, sorted (the image's own layers are in its input digest). */
  layers: string[];
  options: { kernel: string; output: string };
  tool: { version: string; core: string };
  /** The compressors the output's bytes come from, by the version they report. */
  compressors: Record<string, string>;
}

export interface RunKey {
  /** `sha256:<hex>` of `parts` as canonical JSON. */
  key: string;
  parts: KeyParts;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** JSON with object keys sorted at every level and no white space: one text for one value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

let core: string | null = null;
/** The release core's digest: a fix in it changes what binding writes, whatever package.json says. */
const coreDigest = () => (core ??= sha256(readFileSync(join(packageRoot(), 'build', 'syslayer.wasm'))));

const programVersions = new Map<string, string>();
/** The first line a system program prints for --version (`zstd`, `xz`): its output bytes depend on it. */
function programVersion(program: string): string {
  let v = programVersions.get(program);
  if (v === undefined) {
    const r = spawnSync(program, ['--version'], { encoding: 'utf8' });
    v = r.status === 0 ? (r.stdout || r.stderr).split('\n')[0]!.trim() : `${program}: not found`;
    programVersions.set(program, v);
  }
  return v;
}

function compressorVersion(c: Exclude<Compression, 'none'>): string {
  // Node's own zlib writes gzip (src/tar/compression.ts); zstd and xz are the system's programs.
  return c === 'gzip' ? `zlib ${process.versions.zlib}` : programVersion(c);
}

/** What an output is, as far as its bytes go: `directory`, `tar`, `tar.gz`, `oci-layout`, … */
export function outputKind(output: ImageOutput, containerFormat?: 'oci' | 'docker'): string {
  switch (output.kind) {
    case 'tar': return output.compression === 'none' ? 'tar' : `tar.${output.compression}`;
    case 'container': return containerFormat === 'docker' ? 'docker-archive' : output.archive ? 'oci-archive' : 'oci-layout';
    default: return output.kind;
  }
}

function compressorsOf(output: ImageOutput): Record<string, string> {
  if (output.kind === 'tar' && output.compression !== 'none') return { [output.compression]: compressorVersion(output.compression) };
  // A container's layers keep their own compression: gzip or zstd.
  if (output.kind === 'container') return { gzip: compressorVersion('gzip'), zstd: compressorVersion('zstd') };
  return {};
}

/** The digests of the catalog's --layers files, sorted: where they lie does not change what they do. */
export function layerDigests(layerDirs: readonly string[]): string[] {
  const digests = new Set<string>();
  for (const dir of layerDirs) for (const file of layerFiles(dir)) digests.add(sha256(readFileSync(fsPath(file))));
  return [...digests].sort();
}

/** `layers`: layerDigests of the --layers directories, taken once for a run of many images. */
export function runKey(input: InputDigest, o: { layers: readonly string[]; kernel: KernelOption; output: ImageOutput; containerFormat?: 'oci' | 'docker' }): RunKey {
  const kernel = o.kernel.kind === 'version' ? formatKernelVersion(o.kernel.version) : o.kernel.kind;
  const parts: KeyParts = {
    input,
    layers: [...o.layers],
    options: { kernel, output: outputKind(o.output, o.containerFormat) },
    tool: { version: toolVersion(), core: coreDigest() },
    compressors: compressorsOf(o.output),
  };
  return { key: sha256(canonicalJson(parts)), parts };
}
