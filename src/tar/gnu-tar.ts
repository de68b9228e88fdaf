// GNU tar at the edges of the tar pipeline, for the combinations with a directory: it packs a
// directory image into the stream that syslayer rewrites, and extracts a rewritten stream into a
// directory. Node has no API for xattrs, device nodes or owners by number on extraction; GNU tar
// has all of them, and it refuses unsafe names on its own too (ours are refused before it sees them).
import { startHelper, type HelperProcess } from '../util/helper-process.js';

const FIDELITY = ['--xattrs', '--xattrs-include=*', '--numeric-owner'];

/**
 * GNU tar's environment. It converts PAX `path` values between the locale's character set and
 * UTF-8 where it can (a Latin-1 locale would store the name byte 0xe9 as UTF-8 'é'), and keeps a
 * name's bytes where it cannot. In the C locale it cannot for any byte above 0x7f: names pass as
 * bytes whatever the user's locale.
 */
export const TAR_ENV: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };

function run(args: string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe'], what: string): HelperProcess {
  return startHelper(['tar', ...args], what, { stdio, env: TAR_ENV });
}

/** `tar -c` of a directory image, in name order, as a PAX stream on the child's stdout. */
export function packDirectory(dir: string): HelperProcess {
  return run(['--format=pax', '--sort=name', ...FIDELITY, '-C', dir, '-cf', '-', '.'], ['ignore', 'pipe', 'pipe'], `pack ${dir}`);
}

/**
 * `tar -x` into a directory, keeping modes and owners, from the child's stdin. GNU tar 1.34 does
 * not know the `hdrcharset=BINARY` that bsdtar writes before a name that is not UTF-8 (the tar
 * pass keeps it, as every header), and takes the name as bytes anyway: it need not say so.
 */
export function extractInto(dir: string): HelperProcess {
  return run([...FIDELITY, '--warning=no-unknown-keyword', '--same-owner', '--same-permissions', '-C', dir, '-xf', '-'], ['pipe', 'ignore', 'pipe'], `extract the image into ${dir}`);
}

/**
 * `tar -c` of a container image's files (`names`, relative to `dir`) as a ustar stream on the
 * child's stdout, the same bytes every time: names sorted, no owners, times or modes of this
 * machine (blobs are named by their digests; nothing else about a file matters to a reader).
 */
export function packContainerFiles(dir: string, names: string[]): HelperProcess {
  const fixed = ['--format=ustar', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=u=rwX,go=rX'];
  return run([...fixed, '-C', dir, '-cf', '-', '--', ...names], ['ignore', 'pipe', 'pipe'], `pack ${dir} into one archive`);
}
