// The package as a user gets it: `npm pack`, the tarball installed into an empty project, then the
// installed command and the library entry point used there, as a user would. The oracles are
// readelf (the facts scan reports), the kernel running the bound program, and tsc (the types a
// consumer of `import { scan } from 'syslayer'` gets).
//
// The install needs no network: a tarball installed with `npm install <tgz>` resolves its
// dependencies' versions from registry metadata, which `npm ci` (how .ci/run installs) never
// caches. So the project gets a lockfile whose entries are the runtime part of this repository's
// own, pinned to the same integrity, and `npm ci --offline` takes every tarball from the cache the
// repository's `npm ci` filled. Only when that cache lacks one does it fall back to the configured
// registry (`--prefer-offline`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

interface Run { status: number; stdout: string; stderr: string }
interface LockEntry { dev?: boolean; [field: string]: unknown }
interface PackedFile { path: string }

const work = mkdtempSync(join(tmpdir(), 'syslayer-package-'));
const project = join(work, 'project');
const example = join(ROOT, 'sdk/prebuilt/x86_64/bin/abi1-demo');
const layers = join(ROOT, 'sdk/prebuilt/x86_64/layers');

// The npm running this test (`npm test`, `npm exec`) exports its settings, its own command line
// and the repository's paths as npm_* variables; an npm started with them would take the
// repository for its project, or their command for its own. What it keeps is where packages come
// from: the cache, the registry, the configuration files, and how to reach the registry.
const KEPT = /^npm_config_(cache|registry|userconfig|globalconfig|cafile|ca|proxy|https_proxy|noproxy|strict_ssl)$/i;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEPT.test(k)));

function run(cwd: string, command: string, ...args: string[]): Run {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run, what: string): string {
  expect(r.status, `${what} exited ${r.status}:\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

let packed: string[] = [];
let image: string;

beforeAll(() => {
  // `npm test` has just built dist/ and build/; packing with scripts would rebuild them (prepack,
  // prepare) under the other test files that are using them.
  if (!existsSync(join(ROOT, 'dist/src/index.js'))) throw new Error('dist/ is not built: run npm run build first');
  const pack = JSON.parse(ok(run(ROOT, 'npm', 'pack', '--ignore-scripts', '--json', '--pack-destination', work), 'npm pack')) as { filename: string; files: PackedFile[] }[];
  const { filename, files } = pack[0]!;
  packed = files.map((f) => f.path);

  mkdirSync(project);
  copyFileSync(join(work, filename), join(project, filename));
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const runtime = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.dev !== true);
  const dependencies = { syslayer: `file:${filename}` };
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 1));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({
    name: 'consumer', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'consumer', dependencies },
      'node_modules/syslayer': {
        version: manifest.version, resolved: `file:${filename}`,
        integrity: `sha512-${createHash('sha512').update(readFileSync(join(project, filename))).digest('base64')}`,
        license: manifest.license, dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
      },
      ...Object.fromEntries(runtime),
    },
  }, null, 1));
  const offline = run(project, 'npm', 'ci', '--offline', '--no-audit', '--no-fund');
  if (offline.status !== 0) {
    expect(offline.stderr, `npm ci --offline failed for another reason than the cache:\n${offline.stderr}`).toMatch(/ENOTCACHED/);
    ok(run(project, 'npm', 'ci', '--prefer-offline', '--no-audit', '--no-fund'), 'npm ci --prefer-offline');
  }

  image = join(project, 'image');
  mkdirSync(join(image, 'usr/bin'), { recursive: true });
  copyFileSync(example, join(image, 'usr/bin/abi1-demo'));
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('carries what runs and what the help points to: compiled code with its types, the cores, the ABI table, the docs', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/syslayer.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js',
      'dist/src/classify/reader-thread.js', 'dist/workers/core-worker.js', 'build/syslayer.wasm', 'build/syslayer.debug.wasm', 'build/web/main.js', 'build/web/report.css', 'data/abi.json',
      'docs/scan-json.md', 'docs/report-json.md']) {
      expect(packed, f).toContain(f);
    }
  });

  it('carries no tests, corpus, benchmarks, sources or build leftovers', () => {
    const stray = packed.filter((f) => /^(tests|corpus|benchmarks|sdk|assembly|scripts|src|workers|web|\.ci)\//.test(f) || f.endsWith('.map')
      || f.endsWith('.wat') || (f.startsWith('build/') && !/^build\/(syslayer(\.debug)?\.wasm|web\/main\.js|web\/report\.css)$/.test(f)));
    expect(stray).toEqual([]);
  });
});

describe('the installed command', () => {
  it('npx syslayer --help lists the commands', () => {
    const help = ok(run(project, 'npx', '--offline', 'syslayer', '--help'), 'npx syslayer --help');
    for (const command of ['scan', 'plan', 'bind', 'unbind', 'verify']) expect(help).toContain(command);
  });

  it('scan --json finds the ELF file with the facts readelf gives', () => {
    const report = JSON.parse(ok(run(project, process.execPath, 'node_modules/.bin/syslayer', 'scan', '--json', 'image'), 'syslayer scan --json')) as
      { counts: { elf: number }; files: { path: string; type: string; needed: string[]; interpreter: string | null; buildId: string | null }[] };
    const readelf = ok(run(project, 'readelf', '-h', '-l', '-d', '-n', '-W', example), 'readelf');
    expect(report.counts.elf).toBe(1);
    const file = report.files[0]!;
    expect(file.path).toBe('usr/bin/abi1-demo');
    expect(readelf).toMatch(new RegExp(`Type:\\s+${file.type} `));
    expect(file.needed).toEqual([...readelf.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]));
    expect(file.interpreter).toBe(/Requesting program interpreter: (.*)\]/.exec(readelf)?.[1]);
    expect(file.buildId).toBe(/Build ID: ([0-9a-f]+)/.exec(readelf)?.[1]);
  });
});

describe('the library', () => {
  it('import { scan, bind, verify } from \'syslayer\' scans, binds a program the kernel then runs, and verifies it', () => {
    const script = `
      import { scan, bind, verify } from 'syslayer';
      const layers = [${JSON.stringify(layers)}];
      const scanned = await scan('image');
      const bound = await bind('image', { output: 'bound', kernel: '4.11', layers });
      const verified = await verify('bound', { layers });
      console.log(JSON.stringify({ scanned, bound, verified }));`;
    const out = JSON.parse(ok(run(project, process.execPath, '--input-type=module', '-e', script), 'the library script')) as
      Record<'scanned' | 'bound' | 'verified', { status: number; report: { tool: string; command: string; files?: { path: string }[]; clients?: { path: string; outcome?: { status: string; layer?: string } }[] } }>;
    expect(out.scanned.status).toBe(0);
    expect(out.scanned.report).toMatchObject({ tool: 'syslayer', command: 'scan' });
    expect(out.scanned.report.files!.map((f) => f.path)).toEqual(['usr/bin/abi1-demo']);
    expect(out.bound.status).toBe(0);
    expect(out.bound.report.clients).toMatchObject([{ path: 'usr/bin/abi1-demo', outcome: { status: 'bound', layer: 'linux-4.11' } }]);
    expect(out.verified.status).toBe(0);
    expect(out.verified.report.clients).toMatchObject([{ path: 'usr/bin/abi1-demo', outcome: { status: 'verified', layer: 'linux-4.11' } }]);
    if (process.arch === 'x64') {
      const ran = run(project, join(project, 'bound/usr/bin/abi1-demo'), '/proc/self/exe');
      expect(ran.status, `the bound program exited ${ran.status}:\n${ran.stdout}${ran.stderr}`).toBe(0);
      expect(ran.stdout).toContain('abi1-demo: ABI 1');
    }
  });

  it('has types: tsc accepts a consumer that uses them and rejects one that misuses them', () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const options = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types')];
    writeFileSync(join(project, 'uses.ts'), [
      "import { scan, plan, bind, unbind, verify, UsageError, type ScanReport, type RewriteReport } from 'syslayer';",
      "const scanned: ScanReport = (await scan('image')).report;",
      'const elf: number = scanned.counts.elf;',
      "const planned: RewriteReport = (await plan('image', { kernel: '4.11', layers: ['layers'] })).report;",
      'const layer: string | undefined = planned.clients[0]?.layer?.name;',
      "await bind('image', { output: 'out' }); await unbind('out', { inPlace: true }); await verify('out');",
      'console.log(elf, layer, UsageError.name);',
    ].join('\n'));
    ok(run(project, process.execPath, tsc, ...options, 'uses.ts'), 'tsc uses.ts');
    writeFileSync(join(project, 'misuses.ts'), "import { plan } from 'syslayer';\nawait plan('image', { kernel: 4.11 });\n");
    const misuse = run(project, process.execPath, tsc, ...options, 'misuses.ts');
    expect(misuse.status, misuse.stdout).not.toBe(0);
    expect(misuse.stdout).toMatch(/misuses\.ts\(2,.*TS2322: Type 'number' is not assignable to type 'string'/);
  });
});
