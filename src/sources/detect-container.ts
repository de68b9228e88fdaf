// Whether an image is a container image, from what it holds: an OCI image layout directory has an
// `oci-layout` file; a plain tar whose top level holds `manifest.json` is a docker archive (newer
// Docker puts an OCI layout beside it), one with `oci-layout` and no manifest.json an oci-archive.
// A root file system's tarball starts with its directories; only a tar whose first entry is one
// of a container archive's names is walked through to be sure.
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { walkTarHeaders } from '../tar/header-walk.js';
import { decodeName } from '../names/path-bytes.js';
import { headerName } from '../tar/tar-header.js';

export type ContainerFormat = 'oci' | 'docker';

export const isOciLayout = (dir: string) => existsSync(join(dir, 'oci-layout'));

/** Names a container archive starts with: its documents, blobs/, and a classic archive's <hex>.json, <hex>.tar and <hex>/. */
const FIRST = /^(\.\/)?(oci-layout|index\.json|manifest\.json|repositories|blobs(\/.*)?|[0-9a-f]{64}(\.json|\.tar|\/.*)?)$/;

/** `head`: the archive's first bytes (its first header). */
export function containerArchiveFormat(path: string, label: string, head: Uint8Array): ContainerFormat | null {
  if (!FIRST.test(headerName(Buffer.from(head.buffer, head.byteOffset, 512)).toString('latin1'))) return null;
  const top = new Set<string>();
  const fd = openSync(path, 'r');
  try {
    for (const entry of walkTarHeaders({ fd, name: label })) top.add(decodeName(entry.name).replace(/^\.\//, ''));
  } finally {
    closeSync(fd);
  }
  if (top.has('manifest.json')) return 'docker';
  return top.has('oci-layout') && top.has('index.json') ? 'oci' : null;
}
