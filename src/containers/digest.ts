// Content digests as the OCI image spec writes them: `sha256:<64 lowercase hex>`. A digest names
// a file (blobs/sha256/<hex>), so one that is anything else is refused before it is used as a path.
import { createHash } from 'node:crypto';
import { ImageError } from '../errors.js';

const SHA256 = /^sha256:[0-9a-f]{64}$/;

export function checkDigest(image: string, digest: unknown, what: string): asserts digest is string {
  if (typeof digest !== 'string' || !SHA256.test(digest)) {
    throw new ImageError(`${image}: ${what} has digest ${JSON.stringify(digest)}: syslayer reads sha256:<64 hex digits> digests`);
  }
}

export const blobPath = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;

export const sha256Digest = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
