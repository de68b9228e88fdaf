// `--kernel auto` (DESIGN §3): the kernel versions installed in the image (lib/modules/<version>/,
// usr/lib/modules/<version>/), the oldest taken, since every program must run on whichever
// installed kernel boots; no kernel found is a clear error. Images are temporary directories.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelFromImage } from '../src/catalog/kernel-from-image.js';
import { walkDirectory } from '../src/sources/directory.js';
import { UsageError } from '../src/errors.js';
import { ROOT, syslayer } from './helpers/cli.js';

const KV = (a: number, b: number, c = 0) => (a << 16) | (b << 8) | c;

/** An image directory with `dirs` as directories and `files` as (empty) files. */
function image(dirs: string[], files: string[] = [], links: [string, string][] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'syslayer-kernel-auto-'));
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  for (const f of files) writeFileSync(join(root, f), '');
  for (const [path, target] of links) symlinkSync(target, join(root, path));
  return root;
}

function kernelOf(root: string) {
  return kernelFromImage(root, walkDirectory(root));
}

describe('--kernel auto takes the oldest installed kernel', () => {
  it('three kernels in lib/modules: 3.2.0-4-amd64 is the oldest', () => {
    const root = image(['lib/modules/4.19.0-18-amd64', 'lib/modules/5.10.0-9-amd64', 'lib/modules/3.2.0-4-amd64']);
    expect(kernelOf(root)).toEqual({ version: KV(3, 2, 0), text: '3.2.0-4-amd64' });
  });

  it('versions compare as numbers, not as text (4.9 < 4.19 < 10.1)', () => {
    const root = image(['lib/modules/10.1.0', 'lib/modules/4.19.0-18-amd64', 'lib/modules/4.9.0-13-amd64']);
    expect(kernelOf(root)).toEqual({ version: KV(4, 9, 0), text: '4.9.0-13-amd64' });
  });

  it('usr/lib/modules alone', () => {
    const root = image(['usr/lib/modules/6.1.0-13-amd64']);
    expect(kernelOf(root)).toEqual({ version: KV(6, 1, 0), text: '6.1.0-13-amd64' });
  });

  it('kernels in both lib/modules and usr/lib/modules: the oldest of all', () => {
    const root = image(['lib/modules/5.10.0-9-amd64', 'usr/lib/modules/4.19.0-18-amd64', 'usr/lib/modules/6.1.0-13-amd64']);
    expect(kernelOf(root).text).toBe('4.19.0-18-amd64');
  });

  it('merged /usr (lib -> usr/lib): each kernel counted once', () => {
    const root = image(['usr/lib/modules/5.10.0-9-amd64', 'usr/lib/modules/6.1.0-13-amd64'], [], [['lib', 'usr/lib']]);
    expect(kernelOf(root).text).toBe('5.10.0-9-amd64');
  });

  it('entries that are not versions, and a file named like one, are not kernels', () => {
    const root = image(['lib/modules/extramodules', 'lib/modules/build', 'lib/modules/5.10.0-9-amd64'], ['lib/modules/2.6.32', 'lib/modules/modules.dep']);
    expect(kernelOf(root).text).toBe('5.10.0-9-amd64');
  });

  it('a sublevel past 255 is clamped as Linux clamps LINUX_VERSION_CODE, and still orders by major.minor', () => {
    const root = image(['lib/modules/4.19.306-1-lts', 'lib/modules/5.4.0']);
    expect(kernelOf(root)).toEqual({ version: KV(4, 19, 255), text: '4.19.306-1-lts' });
  });

  it('two directories with the same version: the older package name (-9 before -10), whatever the listing order', () => {
    for (const order of [['5.10.0-10-amd64', '5.10.0-9-amd64'], ['5.10.0-9-amd64', '5.10.0-10-amd64']]) {
      const root = image(order.map((v) => `lib/modules/${v}`));
      expect(kernelOf(root)).toEqual({ version: KV(5, 10, 0), text: '5.10.0-9-amd64' });
    }
  });
});

describe('--kernel auto without a kernel is a clear error', () => {
  it.each([
    ['no lib/modules at all', image(['etc'])],
    ['an empty lib/modules', image(['lib/modules', 'usr/lib/modules'])],
    ['only entries that are not kernels', image(['lib/modules/extramodules'], ['lib/modules/4.19.0'])],
  ])('%s', (_, root) => {
    let thrown: unknown = null;
    try {
      kernelOf(root);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(`${root}: --kernel auto found no lib/modules/<version>/ or usr/lib/modules/<version>/ in the image; name the kernel with --kernel <a.b.c>`);
  });
});

describe('syslayer plan --kernel auto', () => {
  const layers = join(ROOT, 'sdk/prebuilt/x86_64/layers');

  it('plans for the oldest kernel and selects the layer for it', () => {
    const root = image(['lib/modules/4.19.0-18-amd64', 'lib/modules/5.10.0-9-amd64', 'lib/modules/3.2.0-4-amd64', 'usr/bin']);
    cpSync(join(ROOT, 'sdk/prebuilt/x86_64/bin/abi1-demo'), join(root, 'usr/bin/abi1-demo'));
    const r = syslayer('plan', '--kernel', 'auto', root, '--layers', layers);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`plan for ${root}, kernel 3.2.0-4-amd64:`);
    // 4.11 needs a newer kernel than 3.2.0: the 3.2 layer is the only candidate.
    expect(r.stdout).toMatch(/would bind 1 with linux-3\.2 revision 1, ABI 1/);
  });

  it('an image without kernels: exit 2 and the message', () => {
    const root = image(['usr/bin']);
    cpSync(join(ROOT, 'sdk/prebuilt/x86_64/bin/abi1-demo'), join(root, 'usr/bin/abi1-demo'));
    const r = syslayer('plan', '--kernel', 'auto', root, '--layers', layers);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${root}: --kernel auto found no lib/modules/<version>/ or usr/lib/modules/<version>/ in the image; name the kernel with --kernel <a.b.c>`);
  });
});
