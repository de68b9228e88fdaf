// The input digest of an image (DESIGN §13, docs/scale.md): the sha256 of its canonical listing,
// so that a directory and its tarball (plain or compressed) have the same one. The listing is one
// line per entry, sorted by the name's bytes: name, type, mode, owners by number, mtime in whole
// seconds, then what the type carries (a file's size and content sha256, a hardlink's first name,
// a symlink's target, a device's numbers) and xattrs. A directory is read through GNU tar (the
// same `tar -c` that packs it for a tar output: xattrs and devices included, which Node cannot
// read), so both kinds of image are listed by one reader (src/tar/tar-listing.ts).
//
// A container image (OCI layout, oci-archive, docker archive) is a Merkle tree already: its
// digest is that of its index.json (OCI) or manifest.json (docker), which name every manifest,
// config and layer by digest, and which the container pipeline checks as it reads them.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { decodeName, printable } from '../names/path-bytes.js';
import { packDirectory } from '../tar/gnu-tar.js';
import { decompressor } from '../tar/compression.js';
import { listTar, type ListedEntry } from '../tar/tar-listing.js';
import { archiveFiles, directoryFiles } from '../containers/image-files.js';
import type { ImageInput } from '../sources/detect.js';

export interface InputDigest {
  /** `sha256:<hex>`. */
  digest: string;
  /** What was digested: the canonical listing, or a container's index/manifest. */
  of: 'listing' | 'oci-index' | 'docker-manifest';
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A stored name as the listing spells it: no leading `./` or `/`, no trailing `/`; the root is `.`. */
function canonicalName(name: Buffer): Buffer {
  let start = 0;
  let end = name.length;
  for (;;) {
    if (name[start] === 0x2f) start++;
    else if (name[start] === 0x2e && name[start + 1] === 0x2f) start += 2;
    else break;
  }
  while (end > start && name[end - 1] === 0x2f) end--;
  return end > start && !(end === start + 1 && name[start] === 0x2e) ? name.subarray(start, end) : Buffer.from('.');
}

const text = (b: Buffer) => printable(decodeName(b));

/**
 * The canonical listing of `entries`: each hardlink group is listed under its first name in byte
 * order (whichever name an archive stored first), the others as links to it, so that the order a
 * tool packed them in does not matter.
 */
async function canonicalListing(entries: AsyncIterable<ListedEntry>): Promise<string> {
  const byName = new Map<string, { name: Buffer; entry: ListedEntry; group: string | null }>();
  for await (const e of entries) {
    const name = canonicalName(e.name);
    const key = name.toString('latin1');
    if (e.type === 'hardlink') {
      const target = canonicalName(e.linkname).toString('latin1');
      const first = byName.get(target);
      byName.set(key, { name, entry: first?.entry ?? e, group: first ? (first.group ?? target) : null });
    } else {
      byName.set(key, { name, entry: e, group: null });
    }
  }
  // Each group's members; its leader is the least name.
  const leaders = new Map<string, Buffer>();
  for (const [key, v] of byName) {
    const group = v.group ?? (v.entry.type === 'file' || v.entry.type === 'contiguous' ? key : null);
    if (group === null) continue;
    const leader = leaders.get(group);
    if (!leader || Buffer.compare(v.name, leader) < 0) leaders.set(group, v.name);
  }
  const rows = [...byName.entries()].sort(([, a], [, b]) => Buffer.compare(a.name, b.name));
  const lines: string[] = [];
  for (const [key, { name, entry: e, group }] of rows) {
    const leader = leaders.get(group ?? key);
    if (leader && !leader.equals(name)) {
      lines.push(`${text(name)}\thardlink\tlink=${text(leader)}`);
      continue;
    }
    const type = e.type === 'contiguous' ? 'file' : e.type;
    const fields = [text(name), type, `mode=${e.mode.toString(8).padStart(4, '0')}`, `uid=${e.uid}`, `gid=${e.gid}`, `mtime=${e.mtime}`];
    if (type === 'file') fields.push(`size=${e.size}`, `sha256=${e.sha256}`);
    else if (type === 'symlink') fields.push(`target=${text(e.linkname)}`);
    else if (type === 'char' || type === 'block') fields.push(`dev=${e.devmajor},${e.devminor}`);
    else if (type === 'hardlink') fields.push(`link=${text(e.linkname)}`); // a link to a name the archive does not hold
    for (const [k, v] of e.xattrs) fields.push(`xattr.${k}=${v.toString('base64')}`);
    lines.push(fields.join('\t'));
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The image as one uncompressed tar stream, and what ends it (GNU tar's exit for a directory). */
function tarStream(input: ImageInput): { stream: Readable; done: Promise<void> } {
  if (input.kind === 'directory') {
    const tar = packDirectory(input.path);
    return { stream: tar.child.stdout!, done: tar.exited };
  }
  if (input.kind !== 'tar') throw new Error(`${input.name} is not read as a tar stream`);
  const file = createReadStream(input.path, { highWaterMark: 1 << 20 });
  const inflate = decompressor(input.compression);
  if (!inflate) return { stream: file, done: Promise.resolve() };
  // One error for both, and the file closed when the listing stops early.
  return { stream: pipeline(file, inflate, () => {}), done: Promise.resolve() };
}

/** The canonical listing of a directory or tar image (one ELF file: its one line, named `.`). */
export async function listingOf(input: ImageInput): Promise<string> {
  if (input.kind === 'file') {
    const s = lstatSync(input.path, { bigint: true });
    const bytes = readFileSync(input.path);
    return `.\tfile\tmode=${(Number(s.mode) & 0o7777).toString(8).padStart(4, '0')}\tuid=${s.uid}\tgid=${s.gid}\tmtime=${s.mtimeNs / 1_000_000_000n}\tsize=${bytes.length}\tsha256=${createHash('sha256').update(bytes).digest('hex')}\n`;
  }
  const { stream, done } = tarStream(input);
  try {
    const listing = await canonicalListing(listTar(stream, input.name));
    await done;
    return listing;
  } catch (error) {
    // A decompressor's or GNU tar's failure (a stream cut short) is the image's, named so.
    if (error instanceof ImageError) throw error;
    throw new ImageError(`${input.name}: cannot read the image: ${(error as Error).message}`);
  } finally {
    stream.destroy();
  }
}

export async function inputDigest(input: ImageInput): Promise<InputDigest> {
  if (input.kind === 'container') {
    const files = input.archive ? archiveFiles(input.path, input.name) : directoryFiles(input.path, input.name);
    return input.format === 'oci' ? { digest: sha256(files.read('index.json')), of: 'oci-index' } : { digest: sha256(files.read('manifest.json')), of: 'docker-manifest' };
  }
  return { digest: sha256(await listingOf(input)), of: 'listing' };
}
